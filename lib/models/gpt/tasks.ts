// Labelled text for fine-tuning demos. shakespearePlays(): every speech
// (speaker line removed) of two plays in the shipped tiny Shakespeare,
// labelled by play: 0 = Coriolanus (the corpus's start up to Richard III's
// "Now is the winter of our discontent"), 1 = Romeo and Juliet (from
// "Gregory, o' my word" to Henry VI's "I wonder how the king escaped").
// Speeches shorter than 20 characters are dropped; the text is cut to
// maxChars. Every 5th speech of each play goes to the test split.
// readTsv(): 'label<TAB>text' lines of a user file.
import * as fs from 'node:fs';

import { SHAKESPEARE } from './data';

export interface Example {
  text: string;
  label: number;
}

export interface Task {
  name: string;
  labels: string[];
  train: Example[];
  test: Example[];
}

function anchor(text: string, s: string): number {
  const i = text.indexOf(s);
  if (i < 0) throw new Error(`${SHAKESPEARE}: cannot find ${JSON.stringify(s)} (is it the shipped tiny Shakespeare?)`);
  return i;
}

function speeches(part: string, maxChars: number): string[] {
  return part
    .split(/\n\s*\n/)
    .map((s) => s.trim())
    .filter((s) => /^[^\n]+:\n/.test(s))
    .map((s) => s.slice(s.indexOf(':\n') + 2).slice(0, maxChars))
    .filter((s) => s.length >= 20);
}

export function shakespearePlays(maxChars = 128): Task {
  const text = fs.readFileSync(SHAKESPEARE, 'utf8');
  const corEnd = anchor(text, 'GLOUCESTER:\nNow is the winter of our discontent');
  const rjStart = anchor(text, "SAMPSON:\nGregory, o' my word");
  const rjEnd = anchor(text, 'WARWICK:\nI wonder how the king escaped');
  const plays = [speeches(text.slice(0, corEnd), maxChars), speeches(text.slice(rjStart, rjEnd), maxChars)];
  const train: Example[] = [];
  const test: Example[] = [];
  plays.forEach((list, label) => list.forEach((t, i) => (i % 5 === 4 ? test : train).push({ text: t, label })));
  return { name: 'shakespeare-plays', labels: ['Coriolanus', 'Romeo and Juliet'], train, test };
}

/** Examples from 'label<TAB>text' lines (text may use \\n for newlines); labels in first-seen order unless given. */
export function readTsv(file: string, labels: string[] = []): { labels: string[]; examples: Example[] } {
  const examples: Example[] = [];
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const tab = line.indexOf('\t');
      if (tab < 0) throw new Error(`${file}:${i + 1}: expected 'label<TAB>text'`);
      const name = line.slice(0, tab);
      if (!labels.includes(name)) labels.push(name);
      examples.push({ text: line.slice(tab + 1).replace(/\\n/g, '\n'), label: labels.indexOf(name) });
    });
  return { labels, examples };
}
