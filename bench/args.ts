/**
 * Command-line options of the benchmark scripts: `--name value` pairs taken out of the argument
 * list (so what is left are the positional arguments), with a default when absent.
 */
export function optionTaker(argv: string[]): (name: string, dflt: string) => string {
  return (name, dflt) => {
    const i = argv.indexOf(name);
    if (i < 0) return dflt;
    const v = argv[i + 1];
    argv.splice(i, 2);
    return v;
  };
}

/** Boolean `--name` flags taken out of the argument list the same way: true when it was there. */
export function flagTaker(argv: string[]): (name: string) => boolean {
  return (name) => {
    const i = argv.indexOf(name);
    if (i >= 0) argv.splice(i, 1);
    return i >= 0;
  };
}
