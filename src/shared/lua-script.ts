import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

/** A script defined on the client, called with its keys first, then its arguments (its file's header says which). */
export type LuaCommand = (...keysThenArgs: Array<string | number>) => Promise<unknown>;

/**
 * The text of a Lua script kept in files of its own: `files` in `directory`, joined in order, so a
 * function several scripts share lives in one file and is put in front of each. Callers pass a
 * directory under their own `__dirname`: the same path then works from src/ (tsx, jest) and from
 * dist/ (the build copies the .lua files there). Read synchronously when the caller is created, at
 * start, so a missing file stops the start rather than failing the first reward.
 */
export function readLuaScript(directory: string, ...files: string[]): string {
  return files.map((file) => readFileSync(join(directory, file), 'utf8')).join('\n');
}

/**
 * Defines `name` on the client (EVALSHA, EVAL when Redis lacks it; pipelines get it too) and returns
 * it bound. `numberOfKeys` null: a varying number, which each call passes first.
 */
export function defineLuaCommand(client: Redis, name: string, numberOfKeys: number | null, lua: string): LuaCommand {
  client.defineCommand(name, numberOfKeys === null ? { lua } : { numberOfKeys, lua });
  const command = (client as unknown as Record<string, LuaCommand | undefined>)[name];
  if (!command) throw new Error(`ioredis did not define ${name}`);
  return command.bind(client);
}
