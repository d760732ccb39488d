/** `tachyon config`: the effective configuration (environment, TACHYON_CONFIG_FILE, defaults) as JSON, secrets redacted. */
import { loadConfig, redactConfig } from '../config/config.ts';

export async function run(): Promise<number> {
  console.log(JSON.stringify(redactConfig(loadConfig()), null, 2));
  return 0;
}
