// A network namespace of the test's own with a veth pair, so that a server can listen on an address
// that is not loopback (Docker and buildah treat 127.0.0.0/8 as a trusted plain-HTTP registry).
// Only the two addresses of the pair are used; everything is removed by dispose().
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface TestNetns {
  name: string;
  /** The address on this side of the pair, in the machine's own namespace. */
  hostAddress: string;
  /** The address inside the namespace, where servers listen. */
  address: string;
  /** Starts a program inside the namespace. */
  spawn(command: string, args: string[], options?: Parameters<typeof spawn>[2]): ChildProcess;
  dispose(): Promise<void>;
}

export async function createNetns(): Promise<TestNetns> {
  // Several developers and CI runs share a machine: a random name and a random /30 in 10.213.0.0/16.
  for (let attempt = 0; ; attempt++) {
    const id = randomBytes(3).toString('hex');
    const name = `gr${id}`;
    const outer = `gr${id}a`;
    const inner = `gr${id}b`;
    const third = randomBytes(1)[0]!;
    const fourth = (randomBytes(1)[0]! & 0xfc) % 252;
    const hostAddress = `10.213.${third}.${fourth + 1}`;
    const address = `10.213.${third}.${fourth + 2}`;
    const taken = (await exec('ip', ['-br', 'addr'])).stdout;
    if (taken.includes(`${hostAddress}/`) || taken.includes(`${address}/`)) continue;
    const dispose = async () => {
      await exec('ip', ['link', 'del', outer]).catch(() => {});
      await exec('ip', ['netns', 'del', name]).catch(() => {});
    };
    try {
      await exec('ip', ['netns', 'add', name]);
      await exec('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
      await exec('ip', ['link', 'set', inner, 'netns', name]);
      await exec('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', outer]);
      await exec('ip', ['link', 'set', outer, 'up']);
      const inside = `ip addr add ${address}/30 dev ${inner} && ip link set ${inner} up && ip link set lo up`;
      await exec('ip', ['netns', 'exec', name, 'sh', '-c', inside]);
    } catch (err) {
      await dispose();
      if (attempt < 3) continue;
      throw new Error(`cannot create a network namespace (the tests run as root): ${err}`);
    }
    return {
      name,
      hostAddress,
      address,
      spawn: (command, args, options = {}) =>
        spawn('ip', ['netns', 'exec', name, command, ...args], options),
      dispose,
    };
  }
}
