// Emulated <cuda_runtime.h>: the runtime API plus the device language
// (emu/simt.h) for kernel files compiled as C++.
#pragma once

#include "../simt.h"
#include "cuda_runtime_api.h"
