// unix-crypt-td-js ships no types: crypt(3)'s DES form, (password, salt or whole hash) → 13-character hash.
declare module 'unix-crypt-td-js' {
  export default function unixCryptTD(password: string, salt: string): string;
}
