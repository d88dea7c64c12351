// Every fuzz target, in the order the suite runs and reports them.
import { nativeTarget } from './native_target.js';
import { FILE_TARGETS, type FuzzTarget } from './targets.js';

export const ALL_TARGETS: readonly FuzzTarget[] = [...FILE_TARGETS, nativeTarget];
