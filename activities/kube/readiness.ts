/**
 * When a workload has finished rolling out, or a pod or node is Ready: the checks `kubectl rollout
 * status` and `kubectl wait --for=condition=Ready` make, on the object as the API returns it.
 */
export interface ObjectState {
  kind: string;
  metadata?: { generation?: number };
  spec?: { replicas?: number; updateStrategy?: { type?: string } };
  status?: Record<string, unknown> & { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }> };
}

export function readiness(obj: ObjectState): { ready: boolean; detail: string } {
  const s = obj.status ?? {};
  const num = (key: string): number => (typeof s[key] === 'number' ? (s[key] as number) : 0);
  const observed = num('observedGeneration') >= (obj.metadata?.generation ?? 0);
  switch (obj.kind) {
    case 'Deployment': {
      const want = obj.spec?.replicas ?? 1;
      const progress = s.conditions?.find((c) => c.type === 'Progressing');
      if (progress?.reason === 'ProgressDeadlineExceeded') return { ready: false, detail: `rollout stuck: ${progress.message ?? progress.reason}` };
      const ready = observed && num('updatedReplicas') === want && num('replicas') === want && num('availableReplicas') === want;
      return { ready, detail: `${num('updatedReplicas')}/${want} updated, ${num('availableReplicas')}/${want} available, ${num('replicas')} total` };
    }
    case 'StatefulSet': {
      const want = obj.spec?.replicas ?? 1;
      const rolling = obj.spec?.updateStrategy?.type !== 'OnDelete';
      const revisionDone = !rolling || s.currentRevision === s.updateRevision;
      const ready = observed && num('readyReplicas') === want && num('updatedReplicas') === want && revisionDone;
      return { ready, detail: `${num('readyReplicas')}/${want} ready, ${num('updatedReplicas')}/${want} updated` };
    }
    case 'DaemonSet': {
      const want = num('desiredNumberScheduled');
      const ready = observed && num('updatedNumberScheduled') === want && num('numberAvailable') === want;
      return { ready, detail: `${num('updatedNumberScheduled')}/${want} updated, ${num('numberAvailable')}/${want} available` };
    }
    default: {
      const condition = s.conditions?.find((c) => c.type === 'Ready');
      return { ready: condition?.status === 'True', detail: condition ? `Ready=${condition.status}${condition.reason ? ` (${condition.reason})` : ''}` : 'no Ready condition yet' };
    }
  }
}
