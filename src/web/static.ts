// The web UI's one stylesheet, read once at start. Its URL carries a hash of its content, so browsers may cache it
// forever and still see a new version at once after an upgrade. A missing file fails the start loudly rather than
// serving unstyled pages (the build copies src/web/static into dist/web/static).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const STYLE_PATH = path.join(import.meta.dirname, 'static', 'style.css');

export const stylesheet: Buffer = readFileSync(STYLE_PATH);
export const stylesheetVersion = createHash('sha256').update(stylesheet).digest('hex').slice(0, 12);
export const STYLESHEET_PATH = '/-/web/static/style.css';
export const stylesheetHref = `${STYLESHEET_PATH}?v=${stylesheetVersion}`;
