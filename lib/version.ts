// The package version, read from package.json at load.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from './native';

export const version: string = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;
