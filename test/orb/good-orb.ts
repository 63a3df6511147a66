// A small orb that passes every check, shared by the orb checker's tests.

/** A small orb that passes every rule; each test breaks one thing in a copy. */
export function goodOrb() {
  return {
    version: 2.1,
    description:
      'Releases images into a GitOps manifest repository from CircleCI, for tests of the checker.',
    display: { home_url: 'https://example.com', source_url: 'https://example.com/src' },
    commands: {
      release: {
        description: 'Releases the image.',
        parameters: {
          image: { type: 'string', description: 'The image.' },
          token_env: {
            type: 'env_var_name',
            default: 'GITHUB_TOKEN',
            description: 'The token variable.',
          },
          mode: {
            type: 'enum',
            enum: ['pull-request', 'push'],
            default: 'push',
            description: 'The mode.',
          },
          draft: { type: 'boolean', default: false, description: 'Draft.' },
        },
        steps: [
          {
            run: {
              name: 'Release',
              environment: {
                PARAM_IMAGE: '<< parameters.image >>',
                PARAM_TOKEN_ENV: '<< parameters.token_env >>',
                PARAM_MODE: '<< parameters.mode >>',
                PARAM_DRAFT: '<< parameters.draft >>',
              },
              command: '<<include(scripts/release.sh)>>',
            },
          },
        ],
      },
    },
    executors: { node: { description: 'Node.', docker: [{ image: 'cimg/node:24.11' }] } },
    jobs: {
      release: {
        description: 'Runs release.',
        executor: 'node',
        steps: [{ release: { image: 'x' } }],
      },
    },
    examples: { release_on_main: { description: 'Release on main.', usage: { version: 2.1 } } },
  };
}
