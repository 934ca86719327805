export { AUTOMATIONS_DIR, automationSchema, proposalProblem, type Automation, type ProposalProblem } from './proposal.ts';
export { loadAutomations, matchesFilter, runAutomations, type AutomationReport, type AutomationRunOptions, type LoadedAutomation, type Proposer } from './run.ts';
