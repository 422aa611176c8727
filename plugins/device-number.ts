/**
 * Major and minor numbers of a device from stat's `rdev`, as glibc's
 * gnu_dev_major/gnu_dev_minor split the 64-bit dev_t.
 *
 * Example: deviceNumbers(fs.statSync('/dev/null').rdev) → { major: 1, minor: 3 }
 */
export function deviceNumbers(rdev: number | bigint): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev & 0xfff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n)),
    minor: Number((dev & 0xffn) | ((dev & 0xffffff00000n) >> 12n)),
  };
}
