import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export type NatKind = 'port-restricted' | 'symmetric';

/** One side of a call: a host in its own namespace behind a NAT router namespace. */
export interface NatSite {
  /** The namespace the peer runs in. */
  host: string;
  /** The peer's private address. */
  privateIp: string;
  /** The NAT's public address. */
  publicIp: string;
  kind: NatKind;
}

export interface NatLab {
  /** The "internet" namespace (coturn runs there). */
  inet: string;
  /** The internet side address of the STUN/TURN server. */
  serverIp: string;
  sites: [NatSite, NatSite];
  destroy(): void;
}

const sh = (args: string[]): void => {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
};
const inNs = (ns: string, args: string[]): void => sh(['ip', 'netns', 'exec', ns, ...args]);

/**
 * Network namespaces made by the test (addresses in 198.18.0.0/15 only): an "internet" namespace with a
 * bridge where the STUN/TURN server lives at 198.18.0.1, and per site a NAT router namespace
 * (198.18.0.1x on the internet side, 198.19.x.1 inside) in front of a host namespace (198.19.x.2).
 * A port-restricted cone NAT is Linux MASQUERADE (the mapping keeps the source port for every
 * destination; conntrack only lets in replies from where we sent); a symmetric NAT is MASQUERADE
 * --random-fully (a fresh port per destination).
 */
export function createNatLab(kinds: [NatKind, NatKind]): NatLab {
  const tag = randomBytes(3).toString('hex');
  const inet = `sb-inet-${tag}`;
  const made: string[] = [];
  const ns = (name: string) => {
    sh(['ip', 'netns', 'add', name]);
    made.push(name);
    inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
  };
  const destroy = () => {
    for (const n of made.reverse()) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {
        // already gone
      }
    }
  };
  try {
    ns(inet);
    inNs(inet, ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    inNs(inet, ['ip', 'addr', 'add', '198.18.0.1/24', 'dev', 'br0']);
    inNs(inet, ['ip', 'link', 'set', 'br0', 'up']);
    const sites = kinds.map((kind, i): NatSite => {
      const n = i + 1;
      const router = `sb-nat${n}-${tag}`;
      const host = `sb-host${n}-${tag}`;
      ns(router);
      ns(host);
      const publicIp = `198.18.0.${10 + n}`;
      const privateIp = `198.19.${n}.2`;
      // internet ⇄ router
      sh(['ip', 'link', 'add', `sbw${n}${tag}`, 'type', 'veth', 'peer', 'name', `sbr${n}${tag}`]);
      sh(['ip', 'link', 'set', `sbw${n}${tag}`, 'netns', inet]);
      sh(['ip', 'link', 'set', `sbr${n}${tag}`, 'netns', router]);
      inNs(inet, ['ip', 'link', 'set', `sbw${n}${tag}`, 'master', 'br0']);
      inNs(inet, ['ip', 'link', 'set', `sbw${n}${tag}`, 'up']);
      inNs(router, ['ip', 'link', 'set', `sbr${n}${tag}`, 'name', 'wan0']);
      inNs(router, ['ip', 'addr', 'add', `${publicIp}/24`, 'dev', 'wan0']);
      inNs(router, ['ip', 'link', 'set', 'wan0', 'up']);
      // router ⇄ host
      sh(['ip', 'link', 'add', `sbl${n}${tag}`, 'type', 'veth', 'peer', 'name', `sbh${n}${tag}`]);
      sh(['ip', 'link', 'set', `sbl${n}${tag}`, 'netns', router]);
      sh(['ip', 'link', 'set', `sbh${n}${tag}`, 'netns', host]);
      inNs(router, ['ip', 'link', 'set', `sbl${n}${tag}`, 'name', 'lan0']);
      inNs(router, ['ip', 'addr', 'add', `198.19.${n}.1/24`, 'dev', 'lan0']);
      inNs(router, ['ip', 'link', 'set', 'lan0', 'up']);
      inNs(host, ['ip', 'link', 'set', `sbh${n}${tag}`, 'name', 'eth0']);
      inNs(host, ['ip', 'addr', 'add', `${privateIp}/24`, 'dev', 'eth0']);
      inNs(host, ['ip', 'link', 'set', 'eth0', 'up']);
      inNs(host, ['ip', 'route', 'add', 'default', 'via', `198.19.${n}.1`]);
      inNs(router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      inNs(router, [
        'iptables',
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-o',
        'wan0',
        '-j',
        'MASQUERADE',
        ...(kind === 'symmetric' ? ['--random-fully'] : []),
      ]);
      // Nothing from the internet reaches the inside, or the router itself, unless it belongs to a flow
      // the inside started. Dropping the rest in filter (not answering it) also keeps it from leaving a
      // conntrack entry that would steal the port the next outgoing mapping wants.
      inNs(router, [
        'iptables',
        '-A',
        'INPUT',
        '-i',
        'wan0',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      ]);
      inNs(router, ['iptables', '-A', 'INPUT', '-i', 'wan0', '-j', 'DROP']);
      inNs(router, [
        'iptables',
        '-A',
        'FORWARD',
        '-i',
        'wan0',
        '-m',
        'conntrack',
        '--ctstate',
        'ESTABLISHED,RELATED',
        '-j',
        'ACCEPT',
      ]);
      inNs(router, ['iptables', '-A', 'FORWARD', '-i', 'wan0', '-j', 'DROP']);
      return { host, privateIp, publicIp, kind };
    }) as [NatSite, NatSite];
    return { inet, serverIp: '198.18.0.1', sites, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}
