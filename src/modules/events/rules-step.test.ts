import { describeRuleScenarios } from './rule-scenarios.js';

describeRuleScenarios(false);
