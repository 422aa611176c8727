/** Command output to stdout, written synchronously so exiting right after loses nothing. */
import { writeAllSync } from '../log';

export function print(text: string): void {
  writeAllSync(1, text.endsWith('\n') ? text : `${text}\n`);
}

/** JSON as runc prints it (state: indented). */
export function printJson(value: unknown, indent = 2): void {
  print(JSON.stringify(value, null, indent));
}
