/**
 * pm2 runs one process, the cluster primary, in fork mode: the primary forks the workers itself
 * and owns the daily prune, so pm2's own cluster mode must not be used (it would start several
 * primaries). See the README's production section.
 *
 *   npm run build && npx pm2 start ecosystem.config.cjs
 *
 * The variables below are read when `pm2 start` runs; set them in the shell to change them.
 */
const path = require('node:path');

// Empty is unset, as the server reads its variables.
const env = (name, fallback) => process.env[`SESH_PRO_BACKEND_${name}`] || fallback;

const shutdownGraceMs = Number(env('SHUTDOWN_GRACE_MS', '10000'));

module.exports = {
  apps: [
    {
      name: 'session-pro-backend',
      cwd: __dirname,
      // Node itself on the compiled entry point (`npm run build`), not pm2's wrapper: pm2 stops
      // exactly this process.
      script: process.execPath,
      args: ['--enable-source-maps', 'dist/main.js'],
      interpreter: 'none',
      exec_mode: 'fork',
      instances: 1,
      env: {
        NODE_ENV: 'production',
        SESH_PRO_BACKEND_DB_PATH: env('DB_PATH', path.join(__dirname, 'backend.db')),
        SESH_PRO_BACKEND_HOST: env('HOST', '127.0.0.1'),
        SESH_PRO_BACKEND_PORT: env('PORT', '8000'),
        SESH_PRO_BACKEND_LOG_LEVEL: env('LOG_LEVEL', 'info'),
        SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: String(shutdownGraceMs),
        // Unset means one worker per CPU.
        ...(env('WORKERS') ? { SESH_PRO_BACKEND_WORKERS: env('WORKERS') } : {}),
      },
      // pm2 sends SIGINT on stop and reload; the primary needs its whole grace period, then a
      // margin to stop its workers, before pm2 resorts to SIGKILL.
      kill_timeout: shutdownGraceMs + 5000,
      // A primary that keeps failing at start-up (port in use, database unreadable) is not
      // restarted forever.
      min_uptime: 10_000,
      max_restarts: 10,
      restart_delay: 1000,
      out_file: path.join(__dirname, 'logs', 'backend.out.log'),
      error_file: path.join(__dirname, 'logs', 'backend.err.log'),
      merge_logs: true,
    },
  ],
};
