import { hostMetric, judge, lastNumber, parseFacts } from '../../model/facts';

const OUTPUT = `hostname=gpu-7
kernel=6.1.0-18-amd64
arch=x86_64
os=Debian GNU/Linux 12 (bookworm)
cpus=8
load=17.50 9.10 4.00
memory=16000000000 12000000000
disk=100000000000 40000000000 60000000000 /
disk=500000000000 450000000000 50000000000 /var/lib/my data
disk=100000000000 40000000000 60000000000 /
accelerator=nvidia|NVIDIA A100-SXM4-80GB
accelerator=nvidia|NVIDIA A100-SXM4-80GB
accelerator=nvidia|NVIDIA H100 80GB HBM3
noise that is not a fact
`;

describe('host facts', () => {
  const facts = parseFacts(OUTPUT);

  it('reads every fact, once per mount, accelerators counted by model', () => {
    expect(facts).toEqual({
      hostname: 'gpu-7',
      kernel: '6.1.0-18-amd64',
      architecture: 'x86_64',
      distribution: 'Debian GNU/Linux 12 (bookworm)',
      cpus: 8,
      load: [17.5, 9.1, 4],
      memory: { totalBytes: 16e9, usedBytes: 12e9 },
      disks: [
        { mount: '/', sizeBytes: 1e11, usedBytes: 4e10, usePercent: 40 },
        { mount: '/var/lib/my data', sizeBytes: 5e11, usedBytes: 4.5e11, usePercent: 90 },
      ],
      accelerators: [
        { vendor: 'nvidia', model: 'NVIDIA A100-SXM4-80GB', count: 2 },
        { vendor: 'nvidia', model: 'NVIDIA H100 80GB HBM3', count: 1 },
      ],
    });
  });

  it('derives the inspection metrics', () => {
    expect(hostMetric('diskUsePercent', facts)).toEqual({ value: 90, detail: '/var/lib/my data' });
    expect(hostMetric('memoryUsePercent', facts)).toEqual({ value: 75 });
    expect(hostMetric('loadPerCpu', facts)).toEqual({ value: 2.19, detail: 'load 17.5 on 8 CPUs' });
    expect(hostMetric('diskUsePercent', parseFacts('cpus=1'))).toEqual({});
  });

  it('judges a value against the threshold; no value is unknown', () => {
    expect(judge({ alertAbove: 85 }, 90)).toBe('alerting');
    expect(judge({ alertAbove: 85 }, 85)).toBe('normal');
    expect(judge({ alertBelow: 1 }, 0)).toBe('alerting');
    expect(judge({ alertAbove: 85 }, undefined)).toBe('unknown');
  });

  it('takes a command value from its last line', () => {
    expect(lastNumber('checking…\n3\n')).toBe(3);
    expect(lastNumber('97.5%')).toBe(97.5);
    expect(lastNumber('-2')).toBe(-2);
    expect(lastNumber('3 errors')).toBeUndefined();
  });
});
