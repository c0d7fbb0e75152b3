import { ContextResult } from './constants.ts';

/** A presentation context as proposed; plain data so that the choice can be tested without the library. */
export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: readonly string[];
  /** The SCP/SCU Role Selection item the requestor sent for this abstract syntax (PS3.7 D.3.3.4), if any. */
  roles?: { scu: boolean; scp: boolean } | undefined;
}

export type ContextDecision =
  | { id: number; result: typeof ContextResult.Acceptance; transferSyntax: string; service: string }
  | { id: number; result: Exclude<ContextResult, typeof ContextResult.Acceptance> };
type ContextResult = (typeof ContextResult)[keyof typeof ContextResult];

/** What the listener offers for one abstract syntax. */
export interface OfferedSyntax {
  service: string;
  /** The transfer syntaxes the service handles, in its own order of preference. */
  transferSyntaxes: readonly string[];
  /** False when the calling device may not use this service. */
  allowed: boolean;
}

/**
 * The transfer syntax we accept: among all proposed syntaxes (not only the first), the one highest in
 * the configured preference, then in the service's own order. Undefined when none is supported.
 */
export function chooseTransferSyntax(proposed: readonly string[], supported: readonly string[], preference: readonly string[]): string | undefined {
  const order = [...preference.filter((ts) => supported.includes(ts)), ...supported.filter((ts) => !preference.includes(ts))];
  return order.find((ts) => proposed.includes(ts));
}

export function decideContexts(
  contexts: readonly ProposedContext[],
  offered: (abstractSyntax: string) => OfferedSyntax | undefined,
  preference: readonly string[],
): ContextDecision[] {
  return contexts.map((pc) => {
    const offer = offered(pc.abstractSyntax);
    if (offer === undefined) return { id: pc.id, result: ContextResult.AbstractSyntaxNotSupported };
    if (!offer.allowed) return { id: pc.id, result: ContextResult.UserRejection };
    // We act as the SCP of every service we offer: a requestor that wants to be the SCP only leaves
    // no role for either side. With both roles proposed, we answer SCU for the requestor only.
    if (pc.roles !== undefined && !pc.roles.scu) return { id: pc.id, result: ContextResult.UserRejection };
    const ts = chooseTransferSyntax(pc.transferSyntaxes, offer.transferSyntaxes, preference);
    if (ts === undefined) return { id: pc.id, result: ContextResult.TransferSyntaxesNotSupported };
    return { id: pc.id, result: ContextResult.Acceptance, transferSyntax: ts, service: offer.service };
  });
}
