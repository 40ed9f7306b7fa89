import { describeRuleScenarios } from '../../../test/rule-scenarios.js';

describeRuleScenarios(false);
