import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { AnyJobDefinition } from './port.ts';

/** The job types this process knows: their payload schemas, handlers and result hooks. */
export class JobRegistry {
  readonly #definitions = new Map<string, AnyJobDefinition>();

  register(definition: AnyJobDefinition): void {
    if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/.test(definition.type)) throw new Error(`job type "${definition.type}": use lower case, digits, - and .`);
    if (this.#definitions.has(definition.type)) throw new Error(`job type "${definition.type}" is registered twice`);
    this.#definitions.set(definition.type, definition);
  }

  get(type: string): AnyJobDefinition | undefined {
    return this.#definitions.get(type);
  }

  require(type: string): AnyJobDefinition {
    const definition = this.#definitions.get(type);
    if (definition === undefined) throw new GatewayError(ErrorCode.Invalid, `unknown job type "${type}"`);
    return definition;
  }

  types(): string[] {
    return [...this.#definitions.keys()];
  }

  /** Configured concurrency wins over the definition's default; default 1. */
  concurrency(type: string, configured: Record<string, number> = {}): number {
    return configured[type] ?? this.#definitions.get(type)?.concurrency ?? 1;
  }
}
