// The fault picker: which fault a round injects, into which machine, when
// and for how long. Pure: the lab's machine names and a seeded Rng in, a plan
// out, so a run is repeated with the same --seed and the choice is tested.
//
// The first rounds take one of each "must" kind in a seeded order (a kill of
// the server leading the scheduler, of an etcd member, of an agent), so even a
// three-round run has killed each once; later rounds draw from every kind.

import { pick, randomInt, shuffled, type Rng } from './rng';

export type FaultKind =
  /** kill -9 of the server holding the scheduler's Lease, started again after the delay. */
  | 'kill-leader'
  /** kill -9 of a random server. */
  | 'kill-server'
  /** kill -9 of a server's embedded etcd alone: the server restarts it itself. */
  | 'kill-etcd'
  /** kill -9 of a node's agent (its pods' containers live on). */
  | 'kill-agent'
  /** A server cut off the lab network, healed after the delay. */
  | 'partition-server'
  /** A node cut off the lab network, healed after the delay. */
  | 'partition-agent';

export const MUST_KINDS: readonly FaultKind[] = ['kill-leader', 'kill-etcd', 'kill-agent'];
export const ALL_KINDS: readonly FaultKind[] = ['kill-leader', 'kill-server', 'kill-etcd', 'kill-agent', 'partition-server', 'partition-agent'];

export interface FaultPlan {
  readonly kind: FaultKind;
  /** The machine; for kill-leader, chosen at injection time (whoever holds the Lease then): undefined here. */
  readonly target: string | undefined;
  /** How long after the workload step starts the fault strikes. */
  readonly afterMs: number;
  /** How long the machine stays down or cut off before it is started or healed (not used for kill-etcd: the server restarts it). */
  readonly downMs: number;
}

export interface FaultLimits {
  /** The first fault strikes 0..maxAfterMs into the workload step. */
  readonly maxAfterMs: number;
  readonly minDownMs: number;
  readonly maxDownMs: number;
}

export const DEFAULT_FAULT_LIMITS: FaultLimits = { maxAfterMs: 2000, minDownMs: 1000, maxDownMs: 10_000 };

/** Whether a fault kind is a kill (counted in the summary's `kills`). */
export function isKill(kind: FaultKind): boolean {
  return kind.startsWith('kill-');
}

/**
 * The faults of `rounds` rounds. servers and agents are the lab's machine
 * names. The first MUST_KINDS.length rounds cover every must kind once.
 */
export function planFaults(
  rng: Rng,
  rounds: number,
  servers: readonly string[],
  agents: readonly string[],
  limits: FaultLimits = DEFAULT_FAULT_LIMITS,
): FaultPlan[] {
  if (servers.length === 0 || agents.length === 0) throw new Error('the chaos suite needs at least one server and one agent');
  const first = shuffled(rng, MUST_KINDS);
  const out: FaultPlan[] = [];
  for (let i = 0; i < rounds; i++) {
    const kind = first[i] ?? pick(rng, ALL_KINDS);
    const target = kind === 'kill-leader' ? undefined : kind === 'kill-agent' || kind === 'partition-agent' ? pick(rng, agents) : pick(rng, servers);
    out.push({ kind, target, afterMs: randomInt(rng, 0, limits.maxAfterMs), downMs: randomInt(rng, limits.minDownMs, limits.maxDownMs) });
  }
  return out;
}
