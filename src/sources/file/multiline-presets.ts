/**
 * The multiline presets (`multiline = "java"`, or `{ preset = "java", ... }`):
 * one table per runtime, each a state machine as data for the joiner in
 * multiline.ts. This is the one place that knows what each runtime's stack
 * traces look like: config.ts takes the names from here, docs/configuration.md
 * (Multiline) sums up the comments here, and multiline-presets.test.ts holds
 * each table to traces captured from the real runtime (test/fixtures/multiline/).
 *
 * How a table reads: `start` lists the lines that may begin a multi-line
 * record (a line matching none is a record by itself, emitted at once); in
 * every other state, a line matching one of its rules joins the record and
 * moves it to that rule's state, and any other line ends the record.
 */
import { startPatternStates, type JoinRule, type JoinStates } from './multiline.js';

/** Every line (an empty RE2 pattern; the joiner skips the regex). */
const ANY = '';
const BLANK = '^$';

const PY_TRACEBACK = String.raw`^Traceback \(most recent call last\):$`;

/** The lines a Python traceback record begins with: the traceback's first line, or a thread's line before it. Shared by `python` and `stack`. */
const PYTHON_START = [
  { match: PY_TRACEBACK, to: 'py_frames' },
  { match: '^Exception in thread .*:$', to: 'py_chained' },
] as const satisfies readonly JoinRule[];

/**
 * A Python traceback up to its `ExceptionType: message` line, and the
 * chained tracebacks after it. Shared by `python` and `stack`.
 */
const PYTHON_STATES = {
  // In a traceback: the indented `File ...` lines, the source lines and their
  // `^^^^` marks, exception groups' `|` and `+-` lines; then the exception line
  // (a dotted name, then `: message` or nothing, e.g. `KeyboardInterrupt`).
  py_frames: [
    { match: String.raw`^[ \t]`, to: 'py_frames' },
    { match: String.raw`^[A-Za-z_][\w.]*(: .*)?$`, to: 'py_raised' },
  ],
  // After the exception line: a chained exception follows behind a blank line
  // and one of the two phrases Python uses (`raise ... from` and an exception
  // raised while handling another).
  py_raised: [
    { match: BLANK, to: 'py_raised' },
    {
      match: '^(The above exception was the direct cause of the following exception|During handling of the above exception, another exception occurred):$',
      to: 'py_chained',
    },
  ],
  // Before the next traceback of the chain (or of `Exception in thread X:`).
  py_chained: [
    { match: BLANK, to: 'py_chained' },
    { match: PY_TRACEBACK, to: 'py_frames' },
  ],
} as const satisfies Record<string, readonly JoinRule[]>;

/** A Go function line in a goroutine's stack: `main.main()`, `sync.(*WaitGroup).Wait(0xc0000a6f70?)`, `panic({0x4679c0, 0xc00008c1d0})`. */
const GO_FUNCTION = String.raw`^\S+\(.*\)$`;
const GO_GOROUTINE = String.raw`^goroutine \d+ (.* )?\[.*\]:$`;

/** A Ruby error line: `path:line:in 'method': message (Class)` (backquote before Ruby 3.4). */
const RUBY_ERROR = String.raw`^\S+:\d+:in [\x60'][^']*': `;

export const MULTILINE_PRESETS = {
  /**
   * Java (and Kotlin, Scala: the JVM's `printStackTrace`): a line and the
   * frames after it: `\tat ...`, `\t... N more` (and logback's `... N common
   * frames omitted`), `Caused by: ...`, `\tSuppressed: ...` with their own
   * frames. The line before the frames is whatever the exception or the
   * logger printed (`Exception in thread "main" java.lang...`).
   */
  java: {
    start: [{ match: ANY, to: 'trace' }],
    trace: [
      { match: String.raw`^\s+at `, to: 'trace' },
      { match: String.raw`^\s*\.\.\. \d+ (more|common frames omitted)$`, to: 'trace' },
      { match: String.raw`^\s*(Caused by|Suppressed): `, to: 'trace' },
    ],
  },

  /**
   * Python: `Traceback (most recent call last):`, its indented frames and its
   * final `ExceptionType: message` line; chained exceptions ("The above
   * exception was the direct cause ..." / "During handling of the above
   * exception ...", with the blank lines around them) stay in the same record,
   * as does a thread's `Exception in thread X:` line before its traceback. A
   * record can also begin with indented lines: the rest of a traceback cut by
   * the timeout or `max_lines`, or an exception group.
   */
  python: {
    start: [...PYTHON_START, { match: String.raw`^[ \t]+\S`, to: 'py_frames' }],
    ...PYTHON_STATES,
  },

  /**
   * Go: a `panic: ...` or `fatal error: ...` dump: the panic line (a panic
   * during a panic adds `\tpanic: ...`, a fault adds `[signal ...]`), then,
   * after blank lines, every `goroutine N [state]:` with its function lines,
   * tab-indented file lines and `created by ...` (all of them with
   * GOTRACEBACK=all). A record can also begin with a goroutine header, a
   * blank line, a function line or a tab-indented line (a dump cut by the
   * timeout or `max_lines`).
   */
  go: {
    start: [
      { match: '^(panic|fatal error): ', to: 'go_panic' },
      { match: GO_GOROUTINE, to: 'go_frames' },
      { match: BLANK, to: 'go_gap' },
      { match: String.raw`^\t`, to: 'go_frames' },
      { match: GO_FUNCTION, to: 'go_frames' },
    ],
    go_panic: [
      { match: String.raw`^\t`, to: 'go_panic' },
      { match: String.raw`^\[signal `, to: 'go_panic' },
      { match: BLANK, to: 'go_gap' },
    ],
    go_gap: [
      { match: BLANK, to: 'go_gap' },
      { match: GO_GOROUTINE, to: 'go_frames' },
    ],
    go_frames: [
      { match: String.raw`^\t`, to: 'go_frames' },
      { match: '^created by ', to: 'go_frames' },
      { match: String.raw`^\.\.\.additional frames elided\.\.\.$`, to: 'go_frames' },
      { match: GO_FUNCTION, to: 'go_frames' },
      { match: BLANK, to: 'go_gap' },
    ],
  },

  /**
   * Ruby: `file.rb:N:in 'method': message (Class)`, what Ruby adds to the
   * message (error_highlight's indented source line and `^^^^` marks, a blank
   * line, did_you_mean's `Did you mean?`), the `\tfrom ...` frames, and the
   * error's `cause`, which Ruby prints the same way right after those frames.
   * A record can also begin with `\tfrom` lines (the rest of a cut trace).
   */
  ruby: {
    start: [
      { match: RUBY_ERROR, to: 'rb_error' },
      { match: String.raw`^\tfrom `, to: 'rb_frames' },
    ],
    rb_error: [
      { match: String.raw`^\tfrom `, to: 'rb_frames' },
      { match: BLANK, to: 'rb_error' },
      { match: String.raw`^ +\S`, to: 'rb_error' },
      { match: String.raw`^Did you mean\?`, to: 'rb_error' },
    ],
    rb_frames: [
      { match: String.raw`^\tfrom `, to: 'rb_frames' },
      { match: String.raw`^\t \.\.\. \d+ levels\.\.\.$`, to: 'rb_frames' },
      { match: RUBY_ERROR, to: 'rb_error' },
    ],
  },

  /**
   * .NET: a line (`Unhandled exception. System.X: message`, or what a logger
   * printed) and what `Exception.ToString()` puts after it: `   at ...`
   * frames, ` ---> Inner.Exception: message` (an inner exception),
   * `   --- End of inner exception stack trace ---` and `--- End of stack
   * trace from previous location ---` (async frames).
   */
  dotnet: {
    start: [{ match: ANY, to: 'trace' }],
    trace: [
      { match: String.raw`^\s+at `, to: 'trace' },
      { match: String.raw`^\s*---> `, to: 'trace' },
      { match: String.raw`^\s*--- End of (inner exception stack trace|stack trace from previous location( where exception was thrown)?) ---$`, to: 'trace' },
    ],
  },

  /**
   * Generic, for runtimes without a preset (and mixed logs): a line and the
   * indented lines after it (`at ...` of Java, .NET and JavaScript, Ruby's
   * `from ...`, most frame formats), Java's `Caused by:` / `Suppressed:`
   * lines, and whole Python tracebacks as in `python`. Go dumps and Ruby
   * causes are split: use their presets.
   */
  stack: {
    start: [...PYTHON_START, { match: ANY, to: 'trace' }],
    trace: [
      { match: String.raw`^\s+\S`, to: 'trace' },
      { match: '^(Caused by|Suppressed): ', to: 'trace' },
    ],
    ...PYTHON_STATES,
  },
} as const satisfies Record<string, JoinStates>;

export type MultilinePreset = keyof typeof MULTILINE_PRESETS;
export const multilinePresetNames = Object.keys(MULTILINE_PRESETS) as [MultilinePreset, ...MultilinePreset[]];

export function isMultilinePreset(name: string): name is MultilinePreset {
  return Object.hasOwn(MULTILINE_PRESETS, name);
}

/** The table a file source's `multiline` setting means: its preset (a name the config schema checked), or its `start` pattern. */
export function multilineStates(ml: { preset?: string; start?: string }): JoinStates {
  if (ml.preset === undefined) return startPatternStates(ml.start!);
  if (!isMultilinePreset(ml.preset)) throw new Error(`unknown multiline preset "${ml.preset}"`);
  return MULTILINE_PRESETS[ml.preset];
}
