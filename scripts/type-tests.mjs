#!/usr/bin/env node
/**
 * Type-level tests of the public API (`npm run test:types`).
 *
 * - `test/types/pass.ts` must compile with zero diagnostics.
 * - Each `test/types/fail/*.ts` is compiled on its own, with the same options, and must
 *   fail: its first line is `// expect-error: TS2322 [TS2345 …] <reason>`, and
 *     (a) there is at least one diagnostic,
 *     (b) every listed code is among the diagnostics,
 *     (c) every diagnostic is in the fail file itself (none in library sources, none global),
 *     (d) no diagnostic has a code that is not listed, so a file cannot pass by failing
 *         for an unrelated reason (a typo, a missing import, a possibly-undefined value).
 *
 * Options come from `test/types/tsconfig.json`. One compiler host with a cache of parsed
 * source files is shared by every program, so lib.dom.d.ts and the library sources are
 * read and parsed once; each case only parses its own file and type-checks. A fail file that
 * is a plain module (no `declare global` / `declare module`, no triple-slash references, no
 * imports outside what pass.ts pulls in) cannot change how the library checks, so only the
 * fail file itself is type-checked (plus options, global and syntactic diagnostics); any
 * other fail file gets the full `tsc` check. `node scripts/type-tests.mjs --full` checks
 * every program in full (~35 s).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const typesDir = join(root, 'test/types');
const failDir = join(typesDir, 'fail');
const configPath = join(typesDir, 'tsconfig.json');
const started = performance.now();
const FULL = process.argv.includes('--full');

// --- compiler options, exactly as `tsc -p test/types/tsconfig.json` sees them ---------------
const read = ts.readConfigFile(configPath, ts.sys.readFile);
if (read.error) {
  console.error(ts.formatDiagnosticsWithColorAndContext([read.error], formatHost()));
  process.exit(2);
}
const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, typesDir, undefined, configPath);
if (parsed.errors.length > 0) {
  console.error(ts.formatDiagnostics(parsed.errors, formatHost()));
  process.exit(2);
}
const options = { ...parsed.options, noEmit: true };

// --- one host, one source-file cache for all programs ---------------------------------------
const host = ts.createCompilerHost(options, true);
const cache = new Map();
const getSourceFile = host.getSourceFile.bind(host);
host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreate) => {
  const target = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions.languageVersion : languageVersionOrOptions;
  const impliedFormat = typeof languageVersionOrOptions === 'object' ? languageVersionOrOptions.impliedNodeFormat : undefined;
  const key = `${fileName}\0${target}\0${impliedFormat}`;
  let sf = cache.get(key);
  if (sf === undefined || shouldCreate) {
    sf = getSourceFile(fileName, languageVersionOrOptions, onError, shouldCreate);
    if (sf !== undefined) cache.set(key, sf);
  }
  return sf;
};

function formatHost() {
  return {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  };
}

let oldProgram;
/** Files of the pass.ts program other than pass.ts: the library as the tests see it. */
let libraryFiles;

/** True when `sf` cannot change how any other file type-checks: a module with no augmentations and no references. */
function isSelfContained(sf) {
  if (!ts.isExternalModule(sf)) return false; // a script's top-level declarations are global
  if (sf.referencedFiles.length > 0 || sf.typeReferenceDirectives.length > 0 || sf.libReferenceDirectives.length > 0) return false;
  return !sf.statements.some((s) => ts.isModuleDeclaration(s)); // declare global / declare module '…' / namespace
}

/**
 * Every diagnostic `tsc` would report for a program rooted at `rootFile`.
 *
 * Type-checking the library sources costs ~1 s per program and they are the same in every
 * program, so when a fail file is a self-contained module (it cannot augment globals or
 * modules, and pulls in no file the pass.ts program lacks), the library's semantic
 * diagnostics are those of the pass.ts program (already required to be none) and only the
 * fail file is type-checked. Otherwise, or with --full, everything is checked again.
 */
function diagnosticsOf(rootFile, { full = false } = {}) {
  const program = ts.createProgram({ rootNames: [rootFile], options, host, oldProgram });
  oldProgram = program;
  const others = program.getSourceFiles().filter((sf) => resolve(sf.fileName) !== rootFile).map((sf) => sf.fileName);
  if (libraryFiles === undefined) libraryFiles = new Set(others);
  const rootSf = program.getSourceFile(rootFile);
  const sameLibrary = others.every((f) => libraryFiles.has(f));
  if (full || FULL || rootSf === undefined || !sameLibrary || !isSelfContained(rootSf)) {
    return ts.getPreEmitDiagnostics(program);
  }
  const semantic = program.getSemanticDiagnostics(rootSf);
  return ts.sortAndDeduplicateDiagnostics([
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getSyntacticDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...semantic,
  ]);
}

const rel = (f) => relative(typesDir, f).split('\\').join('/');

function describe(d) {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n      ');
  if (d.file === undefined) return `    TS${d.code} (global): ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
  return `    ${relative(root, d.file.fileName)}:${line + 1}:${character + 1} TS${d.code}: ${message}`;
}

let passed = 0;
let failed = 0;
function report(ok, name, summary, details = []) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${summary}`);
  for (const line of details) console.log(line);
}

// --- pass.ts: zero diagnostics ----------------------------------------------------------------
const passFile = join(typesDir, 'pass.ts');
if (!parsed.fileNames.map((f) => resolve(f)).includes(passFile)) {
  report(false, 'pass.ts', `not included by ${rel(configPath)}`);
} else {
  const extra = parsed.fileNames.map((f) => resolve(f)).filter((f) => f !== passFile);
  if (extra.length > 0) report(false, 'tsconfig.json', `includes more than pass.ts: ${extra.map(rel).join(', ')}`);
  const diags = diagnosticsOf(passFile, { full: true });
  if (diags.length === 0) report(true, 'pass.ts', 'compiles with no diagnostics');
  else report(false, 'pass.ts', `${diags.length} diagnostic(s), expected none`, diags.map(describe));
}

// --- fail/*.ts: each must fail, with the listed codes, in its own file -------------------------
const HEADER = /^\/\/\s*expect-error:\s*((?:TS\d+[\s,]*)+)(.*)$/;
let failFiles = [];
try {
  failFiles = readdirSync(failDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(failDir, f));
} catch {
  report(false, 'fail/', 'directory missing');
}
if (failFiles.length === 0) report(false, 'fail/', 'no fail cases found');

for (const file of failFiles) {
  const name = rel(file);
  const firstLine = readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  const header = HEADER.exec(firstLine);
  if (!header) {
    report(false, name, 'first line must be `// expect-error: TS<code> [TS<code> …] <reason>`');
    continue;
  }
  const expected = [...new Set(header[1].match(/\d+/g).map(Number))];
  const reason = header[2].trim();
  const diags = diagnosticsOf(file);
  const codes = new Set(diags.map((d) => d.code));
  const problems = [];
  if (diags.length === 0) problems.push('compiles without error');
  const missing = expected.filter((c) => !codes.has(c));
  if (diags.length > 0 && missing.length > 0) problems.push(`missing ${missing.map((c) => `TS${c}`).join(', ')}`);
  const elsewhere = diags.filter((d) => d.file === undefined || resolve(d.file.fileName) !== file);
  if (elsewhere.length > 0) problems.push(`${elsewhere.length} diagnostic(s) outside the fail file`);
  const unlisted = [...codes].filter((c) => !expected.includes(c));
  if (unlisted.length > 0) problems.push(`unexpected ${unlisted.map((c) => `TS${c}`).join(', ')}`);
  const codeList = expected.map((c) => `TS${c}`).join(' ');
  if (problems.length === 0) report(true, name, `${codeList} ${reason}`.trim());
  else report(false, name, `${problems.join('; ')} (expected ${codeList})`, diags.map(describe));
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\n(${seconds} s, ${failFiles.length} fail files)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
