// What the scanner looks for in strings and commands. Each entry is evidence of one behaviour; the rules in
// analyze.ts decide how much a match weighs given where it was found (install-time code, decoded payloads) and what
// else the package does. Patterns match string values the parser extracted (or, in files it could not parse, quoted
// strings), not comments or documentation.

export type Pattern = { kind: string; re: RegExp };

/** Places that hold credentials; reading them is what the stealers of the incidents did first. */
export const CREDENTIAL_PATTERNS: Pattern[] = [
  { kind: 'npm token file', re: /(^|[\\/])\.npmrc$|^\.npmrc\b|_authToken/ },
  { kind: 'ssh keys', re: /(^|[\\/])\.ssh([\\/]|$)|(^|[\\/])id_(rsa|dsa|ecdsa|ed25519)(\.pub)?$/ },
  {
    kind: 'cloud credentials',
    re: /\.aws[\\/](credentials|config)\b|application_default_credentials\.json|\.azure[\\/]|\.kube[\\/]config|\.docker[\\/]config\.json/,
  },
  { kind: 'git credentials', re: /\.git-credentials\b|(^|[\\/])\.config[\\/]gh[\\/]hosts\.yml/ },
  { kind: 'shell history', re: /\.(bash|zsh)_history\b/ },
  { kind: 'system accounts', re: /^\/etc\/(passwd|shadow)$/ },
  {
    kind: 'crypto wallet',
    re: /wallet\.dat\b|Exodus[\\/]exodus\.wallet|exodus\.wallet|[\\/]Electrum[\\/]wallets|atomic[\\/]Local Storage|nkbihfbeogaeaoehlefnkodbefgpgknn|bfnaelmomeimhlpmgjnjophhpkkoljpa|ejbalbakoplchlghecdalmeeeajnimhm|\.config[\\/]solana[\\/]id\.json|Ethereum[\\/]keystore|\.electrum\b|Bitcoin[\\/]wallets/i,
  },
  {
    kind: 'browser profile',
    re: /Google[\\/]Chrome[\\/]User Data|Chrome[\\/]User Data|BraveSoftware[\\/]Brave-Browser|Mozilla[\\/]Firefox[\\/]Profiles|Microsoft[\\/]Edge[\\/]User Data|^Login Data$|[\\/]Login Data\b|logins\.json$|key4\.db$|Local Storage[\\/]leveldb|discord[\\/]Local Storage/i,
  },
  { kind: 'keychain', re: /login\.keychain(-db)?\b|security find-generic-password/ },
];

export const CLOUD_METADATA =
  /169\.254\.169\.254|metadata\.google\.internal|\/computeMetadata\/v1|100\.100\.100\.200|169\.254\.170\.2\b/;

/** Services attackers use to receive stolen data: request catchers, chat-bot APIs, paste sites, OAST hosts. */
export const EXFIL_ENDPOINTS: Pattern[] = [
  { kind: 'Discord webhook', re: /discord(app)?\.com\/api\/webhooks\//i },
  { kind: 'Telegram bot API', re: /api\.telegram\.org\/bot/i },
  {
    kind: 'request catcher',
    re: /webhook\.site|\.pipedream\.net|pipedream\.com\/|requestbin\.(com|net)|hookbin\.com|beeceptor\.com|requestcatcher\.com|mockbin\.org|postb\.in|webhook\.cool/i,
  },
  {
    kind: 'out-of-band testing host',
    re: /burpcollaborator\.net|oastify\.com|interact\.sh|\.oast\.(pro|live|site|online|fun|me)\b|dnslog\.cn|ceye\.io|canarytokens\.com|\.bxss\.me|dnslog\.link/i,
  },
  { kind: 'tunnel', re: /\.ngrok\.io|ngrok-free\.app|\.trycloudflare\.com|serveo\.net|localtunnel\.me|\.loca\.lt\b/i },
  {
    kind: 'paste or file drop',
    re: /pastebin\.com\/(raw|api)|paste\.ee|hastebin\.com|transfer\.sh|0x0\.st|termbin\.com|bashupload\.com|file\.io\/|anonfiles\.com|gofile\.io|tmpfiles\.org/i,
  },
  { kind: 'public IP lookup', re: /api\.ipify\.org|ipinfo\.io\/json|ifconfig\.me|icanhazip\.com|ip-api\.com\/json/i },
];

/** A URL whose host is a bare IPv4 address outside private ranges: stolen data rarely goes to a named service. */
export const RAW_IP_URL =
  /\b(?:https?|wss?|tcp):\/\/((?!10\.|127\.|0\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|169\.254\.)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?::\d+)?/;

/** Shell commands that fetch and run code, open reverse shells, or hide what they do. */
export const SHELL_DANGER: Pattern[] = [
  {
    kind: 'download piped to a shell',
    // Invoke-Expression alone is PowerShell's eval (npm's own npm.ps1 runs node through it); of a download it is
    // the cradle, as is a download piped into it (a keyword list `Invoke-WebRequest|…` is not). `curl-config` is
    // not curl.
    re: /\b(curl|wget)\b(?!-)[^|;&]*\|\s*(sudo\s+)?((ba|z|da)?sh|node|python3?|perl)\b|\biwr\b[^|]*\|\s*iex\b|(Invoke-Expression|\bIEX)\s*\(*\s*(\(\s*)*(New-Object|Invoke-WebRequest|Invoke-RestMethod|iwr|irm|\[System\.Text\.Encoding\]|\[Convert\])|DownloadString\(|(Invoke-WebRequest|Invoke-RestMethod|irm)\b[^|;\n]*\|\s*(iex|Invoke-Expression)\b/i,
  },
  {
    kind: 'download and execute',
    re: /\b(curl|wget)\b[^;&|]*(-o|-O|--output)\s*\S+\s*(;|&&)\s*(chmod\s+\+x|\.\/|sh\s|bash\s|node\s|python)|certutil\s+-urlcache|bitsadmin\s+\/transfer/i,
  },
  {
    kind: 'reverse shell',
    re: /\/dev\/tcp\/|\bnc(at)?\s+(-\w+\s+)*-e\s|\bmkfifo\b[^;]*\bnc\b|socat\s+exec:|sh\s+-i\s*[<>]|powershell[^"']*-e(nc(odedcommand)?)?\s+[A-Za-z0-9+/=]{20,}/i,
  },
  {
    kind: 'data sent with curl or wget',
    re: /\b(curl|wget)\b(?!-)[^\n|;&]*(\$\(|`|\$\{?[A-Z_]*(TOKEN|KEY|SECRET|PASS)|--data|\s-d\s|\s-F\s|--upload-file|\s-T\s|--post-data|--post-file)/,
  },
  { kind: 'DNS lookup carrying command output', re: /\b(nslookup|dig)\s[^\n|;&]*(\$\(|`)/ },
  {
    kind: 'persistence',
    re: /\bcrontab\s+-|\/etc\/cron|LaunchAgents\/|\\Start Menu\\Programs\\Startup|CurrentVersion\\Run\b|systemctl\s+(--user\s+)?enable/i,
  },
  {
    kind: 'decode and execute',
    re: /base64\s+(-d|--decode)[^|]*\|\s*(ba)?sh|echo\s+[A-Za-z0-9+/=]{40,}\s*\|\s*base64/i,
  },
  {
    // Windows binaries that fetch or run a next stage (the LOLBAS catalogue): how Windows-targeting droppers launch.
    kind: 'Windows launcher',
    re: /\bmshta(\.exe)?\s+["']?(https?:|vbscript:|javascript:)|\brundll32(\.exe)?\s+(?!(url|shell32|user32|ieframe|zipfldr|advpack|printui|inetcpl|shdocvw)\.dll)[^\s,]+\.(dll|tmp|dat|bin)\b|\bregsvr32(\.exe)?\s+(\/[sinu]\s+)*[^|&;]*(\/i:\s*https?:|scrobj\.dll|%TEMP%|\\Temp\\)|\bbitsadmin(\.exe)?\s+\/transfer\b|\bwscript(\.exe)?\s+\/\/[be]\b|\bcscript(\.exe)?\s+\/\/[be]\b|\bpowershell(\.exe)?\b[^"'\n]*\s-(e|ec|enc|encodedcommand)\s+[A-Za-z0-9+/=]{16,}|\bpowershell(\.exe)?\b[^\n]*-w(indowstyle)?\s+hidden\b[^\n]*(iwr|iex|Invoke-|DownloadString|Net\.WebClient)/i,
  },
  { kind: 'credential tool', re: /\btrufflehog\b|\bgh\s+auth\s+token\b|security\s+find-generic-password/i },
  { kind: 'privilege escalation', re: /docker\s+run\s+[^"']*--privileged[^"']*-v\s+\/:\/host|\/etc\/sudoers\.d/i },
  {
    kind: 'destruction',
    re: /\brm\s+-rf\s+(~|\$HOME|\/\s|\/\*)|\bshred\s+-[a-z]*u|\bdel\s+\/[sfq]\s+\/[sfq]|Remove-Item\s+-Recurse\s+-Force\s+\$(env:USERPROFILE|HOME)/i,
  },
];

/** Tools whose install-time use is routine: native builds, prebuilt-binary fetchers, git-hook installers. */
export const ROUTINE_INSTALL =
  /^(node-gyp(-build(-optional-packages)?)?|prebuild-install|node-pre-gyp|@mapbox\/node-pre-gyp|cmake-js|napi-postinstall|opencollective(-postinstall)?|husky|is-ci|patch-package|electron-rebuild|ngcc|echo|exit|true|node-gyp-build-test|neon|tsc|npm run|yarn|pnpm|lerna|nx|ts-node|rimraf|cross-env|shx|run-s|run-p|npm-run-all|link-parent-bin|nan|node-addon-api|bindings|ffi|cargo-cp-artifact|husky-run|simple-git-hooks|lefthook|yorkie|pre-commit)\b/;

export const NETWORK_MODULES = new Set([
  'http',
  'https',
  'http2',
  'net',
  'tls',
  'dgram',
  'dns',
  'axios',
  'node-fetch',
  'request',
  'got',
  'undici',
  'superagent',
  'needle',
  'ws',
  'socket.io-client',
  'phin',
  'cross-fetch',
  'isomorphic-fetch',
  'node-telegram-bot-api',
  'discord.js',
]);
export const EXEC_MODULES = new Set(['child_process', 'execa', 'cross-spawn', 'shelljs']);

export const stripNode = (m: string) => m.replace(/^node:/, '');
