import { describeRuleScenarios } from '../../../test/rule-scenarios.js';

describeRuleScenarios(true);
