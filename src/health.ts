/** What one component says of itself. `warning` keeps the gateway healthy but tells the admin something. */
export interface ComponentHealth {
  ok: boolean;
  /** Why it is not ok. */
  reason?: string;
  warning?: string;
  details?: Record<string, unknown>;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  reasons: string[];
  warnings: string[];
  components: Record<string, ComponentHealth>;
}

/** Components register a check; `/healthz` and the CLI read the report. Checks must be cheap and never throw. */
export class HealthRegistry {
  readonly #checks = new Map<string, () => ComponentHealth>();

  register(name: string, check: () => ComponentHealth): void {
    this.#checks.set(name, check);
  }

  report(): HealthReport {
    const components: Record<string, ComponentHealth> = {};
    const reasons: string[] = [];
    const warnings: string[] = [];
    for (const [name, check] of this.#checks) {
      let health: ComponentHealth;
      try {
        health = check();
      } catch (err) {
        health = { ok: false, reason: `health check failed: ${(err as Error).message}` };
      }
      components[name] = health;
      if (!health.ok) reasons.push(`${name}: ${health.reason ?? 'down'}`);
      if (health.warning !== undefined) warnings.push(`${name}: ${health.warning}`);
    }
    return { status: reasons.length === 0 ? 'ok' : 'unavailable', reasons, warnings, components };
  }
}
