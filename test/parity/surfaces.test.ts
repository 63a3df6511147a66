// Parity of the surfaces: for each command, the CLI's options, the Action's inputs (root and
// sub-directory action) and the orb's parameters (command and job) against the one spec
// (packages/action/src/spec.ts). A surface without an option must say why in the spec; a name
// that is not the CLI's spelling (in the surface's case, plural for a repeatable flag) must too.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  type Absent,
  CLI_COMMAND,
  CLI_ONLY,
  COMMANDS,
  type CommandName,
  GITLAB_NOT_YET,
  GITLAB_ONLY,
  GITLAB_RENAMED,
  gitlabName,
  INPUTS,
  type InputName,
  type InputSpec,
  inputsOf,
  ORB_ONLY,
  orbName,
} from '../../packages/action/src/spec.js';
import { commands } from '../../packages/cli/src/main.js';

const root = join(import.meta.dirname, '../..');
const yaml = (path: string) => YAML.parse(readFileSync(join(root, path), 'utf8'));

const isAbsent = (v: unknown): v is Absent => typeof v === 'object' && v !== null && 'absent' in v;

function cliOptions(command: CommandName): string[] {
  const cli = commands.find((c) => c.name === CLI_COMMAND[command]);
  if (!cli) throw new Error(`the CLI has no ${CLI_COMMAND[command]}`);
  return Object.keys(cli.options);
}

function orbParameters(kind: 'commands' | 'jobs', command: CommandName): string[] {
  return Object.keys(yaml(`orb/src/${kind}/${command}.yml`).parameters ?? {});
}

/** The job-only parameters of an orb job (where it runs), which no other surface has. */
const ORB_JOB_ONLY = [
  'executor',
  'resource_class',
  'checkout',
  'setup_remote_docker',
  'remote_docker_layer_caching',
];

const spec = (name: InputName): InputSpec => INPUTS[name];

describe.each(COMMANDS)('%s', (command) => {
  const own = inputsOf(command);
  const cli = cliOptions(command);
  const orbCommand = orbParameters('commands', command);
  const orbJob = orbParameters('jobs', command);
  const subAction = yaml(`${CLI_COMMAND[command]}/action.yml`).inputs as Record<string, unknown>;
  const rootAction = yaml('action.yml').inputs as Record<string, unknown>;

  it('every input of the spec is in both actions, and the sub-directory action has only its own', () => {
    for (const name of own) {
      expect(rootAction, name).toHaveProperty([name]);
      expect(subAction, name).toHaveProperty([name]);
    }
    expect(Object.keys(subAction).sort()).toEqual([...own].sort());
  });

  it('every option of the CLI is an input of the spec, or says why it is CLI-only', () => {
    const claimed = new Set(
      own.flatMap((n) => {
        const flags = spec(n).cli;
        return Array.isArray(flags) ? flags : [];
      }),
    );
    const missing = cli.filter((o) => !claimed.has(o) && !CLI_ONLY[command][o]);
    expect(missing, 'CLI options no input carries and no reason in CLI_ONLY').toEqual([]);
  });

  it('every input the spec gives a CLI flag is a CLI option, unless a reason says otherwise', () => {
    const problems: string[] = [];
    for (const name of own) {
      const s = spec(name);
      const reason = s.notIn?.[command]?.cli;
      if (isAbsent(s.cli)) {
        if (!s.cli.absent.trim()) problems.push(`${name}: no reason for the missing CLI flag`);
        continue;
      }
      for (const flag of s.cli) {
        const has = cli.includes(flag);
        if (!has && !reason) problems.push(`${name}: the CLI has no --${flag} and no reason`);
        if (has && reason) problems.push(`${name}: --${flag} exists; drop the stale reason`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every input is an orb parameter of the command and of the job, or says why not', () => {
    const problems: string[] = [];
    for (const name of own) {
      const orb = orbName(name);
      const reason = spec(name).notIn?.[command]?.orb;
      if (isAbsent(orb)) {
        if (!orb.absent.trim()) problems.push(`${name}: no reason for the missing parameter`);
        continue;
      }
      const has = orbCommand.includes(orb) && orbJob.includes(orb);
      if (!has && !reason) problems.push(`${name}: the orb has no ${orb} and no reason`);
      if (has && reason) problems.push(`${name}: the orb has ${orb}; drop the stale reason`);
    }
    expect(problems).toEqual([]);
  });

  it('every orb parameter is an input of the spec, or says why it is orb-only', () => {
    const claimed = new Set(own.map(orbName).filter((o): o is string => typeof o === 'string'));
    const stray = orbCommand.filter((p) => !claimed.has(p) && !ORB_ONLY[command][p]);
    expect(stray, 'orb command parameters no input carries').toEqual([]);
    const strayJob = orbJob.filter(
      (p) => !claimed.has(p) && !ORB_ONLY[command][p] && !ORB_JOB_ONLY.includes(p),
    );
    expect(strayJob, 'orb job parameters no input carries').toEqual([]);
  });

  it("one name per idea: the CLI's spelling, plural for a list, or a reason for the difference", () => {
    const problems: string[] = [];
    for (const name of own) {
      const s = spec(name);
      if (isAbsent(s.cli)) continue;
      const flag = s.cli[0]!;
      const list = s.kind === 'list' || s.kind === 'lines';
      const expected = list && !flag.endsWith('s') && flag !== name ? `${flag}s` : flag;
      if (name !== flag && name !== expected && !s.rename)
        problems.push(`input "${name}" is --${flag} in the CLI: name it "${expected}"`);
      const orb = orbName(name);
      if (typeof orb === 'string' && orb !== name.replace(/-/g, '_') && !s.rename)
        problems.push(
          `orb parameter ${orb} is input "${name}": name it ${name.replace(/-/g, '_')}`,
        );
    }
    expect(problems).toEqual([]);
  });
});

/** The inputs of the GitLab CI/CD component's template for a command (its first YAML document). */
function gitlabInputs(command: CommandName): string[] | undefined {
  const file = join(root, 'templates', `${command}.yml`);
  if (!existsSync(file)) return undefined;
  const [header] = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  return Object.keys((header?.toJSON() as { spec?: { inputs?: object } })?.spec?.inputs ?? {});
}

describe.each(COMMANDS)('the GitLab CI/CD component, %s', (command) => {
  const inputs = gitlabInputs(command);
  // Issue 12 adds templates/; until a command's template exists there is nothing to hold to the spec.
  it(inputs ? 'has every input of the spec, or a reason' : 'has no template yet', () => {
    if (!inputs) {
      expect(existsSync(join(root, 'templates', `${command}.yml`))).toBe(false);
      return;
    }
    const problems: string[] = [];
    for (const name of inputsOf(command)) {
      const gl = gitlabName(name);
      const reason = spec(name).notIn?.[command]?.gitlab;
      if (isAbsent(gl)) continue;
      const later = GITLAB_NOT_YET[command]?.[name];
      if (!inputs.includes(gl) && !reason && !later)
        problems.push(`${name}: the component has no ${gl}`);
    }
    const claimed = new Set(inputsOf(command).map(gitlabName));
    for (const input of inputs)
      if (!claimed.has(input) && !GITLAB_ONLY[input] && !GITLAB_RENAMED[command]?.[input])
        problems.push(`component input ${input} is no input of the spec`);
    expect(problems).toEqual([]);
  });
});
