import type { z } from 'zod';
import { ErrorCode, GatewayError, type FieldIssue } from './errors.ts';

/** Renders a zod path as `a.b[2].c`, the form admins see in config files and API bodies. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_value':
      return `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'string' ? `at least ${String(issue.minimum)} characters` : `at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'string' ? `at most ${String(issue.maximum)} characters` : `at most ${String(issue.maximum)}`;
    case 'custom':
      // A refinement may carry its own hint (e.g. the config's pattern checks).
      return typeof issue.params?.['hint'] === 'string' ? issue.params['hint'] : undefined;
    default:
      return undefined;
  }
}

/** Every issue of a failed parse, each with its path and, where we can tell, a hint. */
export function toFieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...prefix, ...issue.path, key]),
        message: 'unknown key',
        hint: `remove it or check the spelling against config/gateway.example.yaml`,
      }));
    }
    const hint = hintFor(issue);
    const path = formatPath([...prefix, ...issue.path]);
    return [hint === undefined ? { path, message: issue.message } : { path, message: issue.message, hint }];
  });
}

/** Parses or throws one `GatewayError` that names every invalid field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new GatewayError(ErrorCode.Invalid, `invalid ${what}`, { issues: toFieldIssues(result.error) });
}
