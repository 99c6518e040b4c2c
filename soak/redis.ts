/**
 * The soak's private Redis: its own port (never the shared 6379), an append-only file fsynced on
 * every write, so a crash (kill -9) and restart keeps every write Redis acknowledged, just as
 * a production Redis with `appendfsync always` would. Restarted mid-round by the fault plan.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type RedisServer, startRedisServer } from '../test/helpers/redis-server.ts';

export class SoakRedis {
  private server: RedisServer | undefined;
  restarts = 0;
  /** Total time Redis was down (ms). */
  downMs = 0;

  readonly port: number;
  private readonly dir: string;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(runDir: string): Promise<SoakRedis> {
    const dir = path.join(runDir, 'redis');
    mkdirSync(dir, { recursive: true });
    const redis = new SoakRedis(await freePort(), dir);
    redis.server = await startRedisServer({ port: redis.port, aofDir: dir });
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** kill -9, down for `downMs`, then started again on the same port and files. */
  async crashAndRestart(downMs: number): Promise<void> {
    const started = Date.now();
    await this.server?.stop('SIGKILL');
    this.server = undefined;
    await sleep(downMs);
    this.server = await startRedisServer({ port: this.port, aofDir: this.dir });
    this.restarts++;
    this.downMs += Date.now() - started;
  }

  async stop(): Promise<void> {
    await this.server?.stop('SIGKILL');
    this.server = undefined;
  }
}
