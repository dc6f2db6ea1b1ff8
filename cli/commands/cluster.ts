import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { dnsLabel } from '../../model/meta';
import { overlayFiles, renderClusterManifests, toYaml, type ClusterManifestOptions } from '../cluster-manifests';
import { CliError, ExitCode } from '../exit-codes';

interface ManifestFlags {
  k8sNamespace: string;
  temporalAddress?: string;
  temporalNamespace: string;
  natsHub?: string;
  image: string;
  overlay?: string;
}

export function clusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('managed clusters');
  cluster
    .command('manifests <name>')
    .description("the Kubernetes manifests of a cluster's worker and edge NATS (k8s/ with the cluster's overlay): print them, or write the overlay")
    // Not --namespace: that global flag is Temporal's.
    .option('--k8s-namespace <ns>', 'Kubernetes namespace of the worker and edge NATS', 'ops-system')
    .option('--temporal-address <host:port>', 'Temporal frontend as the cluster reaches it (env TEMPORAL_ADDRESS)')
    .option('--temporal-namespace <ns>', 'Temporal namespace', process.env.TEMPORAL_NAMESPACE ?? 'default')
    .option('--nats-hub <url>', 'the hub NATS leafnode URL, e.g. nats-leaf://hub.example.org:7422 (env OPS_NATS_HUB_URL)')
    .option('--image <image>', 'the Ops image', 'ops:0.1.0')
    .option('--overlay <dir>', 'write the kustomize overlay (kustomization.yaml, namespace.yaml) into this directory instead of printing')
    .action((name: string, flags: ManifestFlags) => {
      const checked = dnsLabel.safeParse(name);
      if (!checked.success) throw new CliError(`cluster name "${name}": ${checked.error.issues[0].message}`, ExitCode.usage);
      const temporalAddress = flags.temporalAddress ?? process.env.TEMPORAL_ADDRESS;
      const natsHubUrl = flags.natsHub ?? process.env.OPS_NATS_HUB_URL;
      if (!temporalAddress || !natsHubUrl) throw new CliError('give --temporal-address and --nats-hub (as the cluster reaches them)', ExitCode.usage);
      const options: ClusterManifestOptions = { cluster: name, namespace: flags.k8sNamespace, temporalAddress, temporalNamespace: flags.temporalNamespace, natsHubUrl, image: flags.image };
      if (!flags.overlay) return void process.stdout.write(toYaml(renderClusterManifests(options)));
      const dir = resolve(flags.overlay);
      mkdirSync(dir, { recursive: true });
      for (const [file, text] of Object.entries(overlayFiles(options, dir))) writeFileSync(join(dir, file), text);
      console.error(`wrote the overlay of cluster ${name} to ${dir}: kubectl apply -k ${flags.overlay}`);
    });
}
