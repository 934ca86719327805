export { createConsoleApp, type ConsoleOptions } from './app.ts';
export { ApprovedVersions } from './approved.ts';
export { decideConfirmation, getConfirmation, listConfirmations, type ConfirmationView, type RuntimeFactory } from './confirmations.ts';
export { ConsoleUsers, DEFAULT_USERS_FILE, type ConsoleUserSummary } from './users.ts';
