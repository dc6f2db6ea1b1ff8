import type { HostTarget } from '../model/run';
import { FailureType } from '../model/failures';
import type { HostLease } from './host-session';
import { LocalSession } from './local/session';
import type { KubeNodeConnector, StepPodContext } from './kube/node-connector';
import { ConnectError } from './step-failure';

/** Reaches a host the way its definition says: pooled SSH, the worker's own machine, or a node's step pod. */
export class HostConnector {
  private readonly local = new LocalSession();

  constructor(
    private readonly ssh: { acquire(target: HostTarget): Promise<HostLease> },
    private readonly nodes?: KubeNodeConnector,
  ) {}

  acquire(target: HostTarget, step: StepPodContext): Promise<HostLease> {
    switch (target.connection) {
      case 'local':
        return Promise.resolve({ session: this.local, release: () => undefined });
      case 'node':
        if (!this.nodes) return Promise.reject(new ConnectError(FailureType.HostUnreachable, 'this worker has no Kubernetes cluster configured'));
        return this.nodes.acquire(target, step);
      case 'cluster':
        return Promise.reject(new ConnectError(FailureType.StepInvalid, 'the cluster API runs kubectl steps only; target nodes for shell and file steps'));
      default:
        return this.ssh.acquire(target);
    }
  }
}

/** Root on a node needs no sudo; the hosts' own users do. */
export function needsSudo(target: HostTarget, sudo: boolean): boolean {
  return sudo && target.connection !== 'node';
}
