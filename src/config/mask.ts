const secretKey = /token|password|passphrase|secret|privatekey/i;

/** A copy of the config fit to print: secrets replaced, passwords in URLs hidden. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, k)]));
  }
  if (typeof value === 'string') {
    if (secretKey.test(key)) return '********';
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1********@');
  }
  return value;
}
