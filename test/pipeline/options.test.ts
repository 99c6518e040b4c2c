import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { storageOptionsFrom } from '../../src/pipeline/options.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('storageOptionsFrom', () => {
  it('passes static keys from the file or the environment, with the session token of temporary keys', () => {
    const file = path.join(tempDir('sluice-opts'), 'c.yaml');
    writeFileSync(
      file,
      'awsAccessKeyId: AKIAFILE\nawsSecretAccessKey: file-secret\ns3Endpoint: http://127.0.0.1:9000\n',
    );
    const fromFile = storageOptionsFrom(Config.load({ file, env: {} }));
    expect(fromFile.s3?.credentials).toEqual({ accessKeyId: 'AKIAFILE', secretAccessKey: 'file-secret' });
    expect(fromFile.s3?.endpoint).toBe('http://127.0.0.1:9000');
    const fromEnv = storageOptionsFrom(
      Config.load({
        file,
        env: { AWS_ACCESS_KEY_ID: 'ASIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'tok' },
      }),
    );
    expect(fromEnv.s3?.credentials).toEqual({
      accessKeyId: 'ASIAENV',
      secretAccessKey: 'env-secret',
      sessionToken: 'tok',
    });
    expect(fromEnv.s3?.region).toBe('us-east-1');
  });
});
