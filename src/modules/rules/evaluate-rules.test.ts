import { describe, expect, it } from 'vitest';
import { testRule } from '../../../test/rules.js';
import { DomainError } from '../../platform/errors.js';
import {
  celEvaluationCostMax,
  celEventEvaluationTimeMaxMs,
  celNestingDepthMax,
  rulePayloadBytesMax,
  rulesPerProgramMax,
} from '../../platform/limits.js';
import { compileExpression } from './cel-environment.js';
import { type BudgetState, type EvaluationInput, evaluateRules } from './evaluate-rules.js';
import { amountScaleFailure } from './rule-actions.js';
import type { Action } from './rules.schemas.js';

const points = '0192b000-0000-7000-8000-000000000001';
const rule = testRule;

const credit = (amount: string): Action => ({ type: 'CREDIT', asset_id: points, amount });

function input(
  eventData: Record<string, unknown>,
  overrides: Partial<EvaluationInput> = {},
): EvaluationInput {
  return {
    eventData,
    eventTimestamp: new Date('2026-03-01T12:00:00Z'),
    participant: {
      tags: ['vip'],
      counters: { purchases: 3 },
      attributes: { region: 'eu' },
      tiers: { loyalty: { level: 'gold', rank: 2 } },
      status: 'ACTIVE',
    },
    program: { tags: ['launch'], counters: { signups: 10 }, attributes: { season: 'spring' } },
    ...overrides,
  };
}

describe('evaluateRules', () => {
  it('matches a condition and resolves CEL amounts into decimal strings', () => {
    const r = rule('event.type == "purchase" && event.amount > 100', [
      credit('round(event.amount * 0.05, 2)'),
    ]);
    const [evaluation] = evaluateRules([r], input({ type: 'purchase', amount: 249.9 }));
    expect(evaluation).toMatchObject({
      rule_id: r.id,
      rule_history_id: r.history_id,
      status: 'MATCHED',
      reason: null,
      actions: [
        {
          type: 'CREDIT',
          asset_id: points,
          amount: '12.5',
          bucket: 'AVAILABLE',
          target: { kind: 'event_participant' },
        },
      ],
    });
  });

  it('records CONDITION_FALSE when the condition is false', () => {
    const [evaluation] = evaluateRules([rule('event.amount > 100', [credit('1')])], input({ amount: 5 }));
    expect(evaluation).toMatchObject({ status: 'NOT_MATCHED', reason: 'CONDITION_FALSE', actions: [] });
  });

  it('treats a missing field as a false condition, not an error', () => {
    const [direct, indexed] = evaluateRules(
      [rule('event.referrer_id != ""', [credit('1')]), rule('event["referrer_id"] != ""', [credit('1')])],
      input({ type: 'signup' }),
    );
    expect(direct).toMatchObject({ status: 'NOT_MATCHED', reason: 'MISSING_FIELD' });
    expect(indexed).toMatchObject({ status: 'NOT_MATCHED', reason: 'MISSING_FIELD' });
    const [element] = evaluateRules([rule('event.items[0].sku == "x"', [credit('1')])], input({ items: [] }));
    expect(element).toMatchObject({ status: 'NOT_MATCHED', reason: 'MISSING_FIELD' });
    const [guarded] = evaluateRules(
      [rule('has(event.referrer_id) && event.referrer_id != ""', [credit('1')])],
      input({ type: 'signup' }),
    );
    expect(guarded).toMatchObject({ status: 'NOT_MATCHED', reason: 'CONDITION_FALSE' });
  });

  it('reads participant tags, counters, attributes, tiers, status and program state', () => {
    const condition = [
      '"vip" in participant.tags',
      'participant.counters.purchases >= 3',
      'get(participant.counters, "absent", 0.0) == 0.0',
      'participant.attributes.region == "eu"',
      'participant.tiers.loyalty.rank >= 2 && participant.tiers.loyalty.level == "gold"',
      'participant.status == "ACTIVE"',
      'sets.contains(program.tags, ["launch"]) && program.counters.signups == 10',
      'program.attributes.season == "spring"',
    ].join(' && ');
    const [evaluation] = evaluateRules([rule(condition, [credit('1')])], input({}));
    expect(evaluation?.status).toBe('MATCHED');
  });

  it('sees now and now() as the event timestamp', () => {
    const r = rule('now == timestamp("2026-03-01T12:00:00Z") && now() < timestamp("2026-09-01T00:00:00Z")', [
      credit('1'),
    ]);
    expect(evaluateRules([r], input({}))[0]?.status).toBe('MATCHED');
    const dateOnly = rule(
      'now() < timestamp("2026-09-01") && timestamp("2026-09-01") == timestamp("2026-09-01T00:00:00Z")',
      [credit('1')],
    );
    expect(evaluateRules([dateOnly], input({}))[0]?.status).toBe('MATCHED');
    const later = input({}, { eventTimestamp: new Date('2026-10-01T00:00:00Z') });
    expect(evaluateRules([r], later)[0]?.status).toBe('NOT_MATCHED');
  });

  it('skips a rule outside its active window, compared with event_timestamp', () => {
    const window = {
      active_from: new Date('2026-03-01T00:00:00Z'),
      active_to: new Date('2026-03-02T00:00:00Z'),
    };
    const r = rule('true', [credit('1')], window);
    expect(evaluateRules([r], input({}))[0]?.status).toBe('MATCHED');
    for (const at of ['2026-02-28T23:59:59Z', '2026-03-02T00:00:00Z']) {
      const [evaluation] = evaluateRules([r], input({}, { eventTimestamp: new Date(at) }));
      expect(evaluation).toMatchObject({ status: 'SKIPPED', reason: 'OUTSIDE_TIME_WINDOW' });
    }
  });

  it('stops later rules after a stop_after_match rule matches, naming it', () => {
    const dining = rule('event.category == "dining"', [credit('event.amount * 5')], {
      stop_after_match: true,
    });
    const groceries = rule('event.category == "groceries"', [credit('event.amount * 3')], {
      stop_after_match: true,
    });
    const base = rule('true', [credit('event.amount')]);
    const onDining = evaluateRules([dining, groceries, base], input({ category: 'dining', amount: 10 }));
    expect(onDining.map((e) => e.status)).toEqual(['MATCHED', 'SKIPPED', 'SKIPPED']);
    expect(onDining[1]).toMatchObject({ reason: 'STOPPED_AFTER_MATCH', stopped_by_rule_id: dining.id });
    expect(onDining[0]?.actions[0]).toMatchObject({ amount: '50' });
    const onOther = evaluateRules([dining, groceries, base], input({ category: 'travel', amount: 10 }));
    expect(onOther.map((e) => e.status)).toEqual(['NOT_MATCHED', 'NOT_MATCHED', 'MATCHED']);
  });

  it('skips the whole rule with BUDGET_EXCEEDED when its credits would overrun the budget', () => {
    const budget = (consumed: string, next_reset_at: Date | null = null): BudgetState => ({
      asset_id: points,
      limit: '100.00',
      consumed,
      next_reset_at,
    });
    const actions = [credit('30'), credit('event.amount'), { type: 'TAG', tag: 'rewarded' } as Action];
    const fits = rule('true', actions, {}, [budget('50.00')]);
    expect(evaluateRules([fits], input({ amount: 20 }))[0]).toMatchObject({
      status: 'MATCHED',
      budget_consumption: [{ asset_id: points, amount: '50' }],
    });
    const over = rule('true', actions, {}, [budget('50.01')]);
    expect(evaluateRules([over], input({ amount: 20 }))[0]).toMatchObject({
      status: 'SKIPPED',
      reason: 'BUDGET_EXCEEDED',
      actions: [],
    });
    const exhausted = rule('event.never_read', actions, {}, [budget('100')]);
    expect(evaluateRules([exhausted], input({}))[0]).toMatchObject({ reason: 'BUDGET_EXCEEDED' });
    const resetDue = rule('true', actions, {}, [budget('100', new Date('2026-03-01T00:00:00Z'))]);
    expect(evaluateRules([resetDue], input({ amount: 20 }))[0]?.status).toBe('MATCHED');
  });

  it('records SKIPPED_ERROR for evaluation errors and non-bool results, and goes on', () => {
    const divide = rule('1 / (int(event.n) - 2) > 0', [credit('1')]);
    const notBool = rule('event.flag', [credit('1')]);
    const badAmount = rule('true', [credit('event.name')]);
    const negative = rule('true', [credit('0 - event.n')]);
    const ok = rule('true', [credit('1')]);
    const evaluations = evaluateRules(
      [divide, notBool, badAmount, negative, ok],
      input({ n: 2, flag: 'yes', name: 'x' }),
    );
    expect(evaluations.map((e) => [e.status, e.reason])).toEqual([
      ['SKIPPED_ERROR', 'EVALUATION_ERROR'],
      ['SKIPPED_ERROR', 'EVALUATION_ERROR'],
      ['SKIPPED_ERROR', 'EVALUATION_ERROR'],
      ['SKIPPED_ERROR', 'EVALUATION_ERROR'],
      ['MATCHED', null],
    ]);
    expect(evaluations[2]?.message).toContain('amount must evaluate to a number');
    expect(evaluations[3]?.message).toContain('amount must be positive');
  });

  it('bounds hostile expressions: an exponential macro ends as SKIPPED_TIMEOUT quickly', () => {
    const ten = '[0,1,2,3,4,5,6,7,8,9]';
    const nested = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, ${ten}.all(d, ${ten}.all(e, ${ten}.all(f, ${ten}.all(g, true)))))))`;
    const doubling = `[[1]]${'.map(x, x + x)'.repeat(25)}.size() > 0`;
    const strings = `["ab"]${'.map(s, s + s)'.repeat(25)}.size() > 0`;
    const replaced = `"abcdefgh"${'.replace("a", "aaaaaaaaaaaaaaaa")'.repeat(30)} == ""`;
    const regex = `event.text.matches("${'(a|b)'.repeat(200)}")`;
    for (const condition of [nested, doubling, strings, replaced, regex]) {
      const started = performance.now();
      const [evaluation] = evaluateRules(
        [rule(condition, [credit('1')])],
        input({ text: 'a'.repeat(60_000) }),
      );
      expect(evaluation).toMatchObject({ status: 'SKIPPED_TIMEOUT', reason: 'COST_LIMIT_EXCEEDED' });
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('bounds what join, format, equality and membership walk: shared sub-lists count each time', () => {
    const ten = (name: string) => `[${Array(10).fill(name).join(', ')}]`;
    // Each map multiplies a string (or a list) tenfold while the lists themselves stay ten long.
    const joined = `[event.text].map(a, ${ten('a')}.join()).map(b, ${ten('b')}.join()).map(c, ${ten('c')}.join())[0].size() > 0`;
    const formatted = `"${'%s'.repeat(10)}".format(${ten('event.text')}).size() > 0`;
    let shared = '[1]';
    for (const name of 'abcdef') shared += `.map(${name}, ${ten(name)})`;
    const compared = `${shared}.all(z, z == ${shared}[0])`;
    const member = `${shared}[0] in ${shared}`;
    for (const condition of [joined, formatted, compared, member]) {
      const started = performance.now();
      const [evaluation] = evaluateRules(
        [rule(condition, [credit('1')])],
        input({ text: 'a'.repeat(60_000) }),
      );
      expect(evaluation).toMatchObject({ status: 'SKIPPED_TIMEOUT', reason: 'COST_LIMIT_EXCEEDED' });
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it(`bounds one event's rules together: ${rulesPerProgramMax} hostile rules take about ${celEventEvaluationTimeMaxMs} ms, cheap rules still run`, () => {
    const ten = '[0,1,2,3,4,5,6,7,8,9]';
    const hostile = `${ten}.all(a, ${ten}.all(b, ${ten}.all(c, ${ten}.all(d, ${ten}.all(e, ${ten}.all(f, true))))))`;
    const rules = [
      ...Array.from({ length: rulesPerProgramMax - 1 }, () => rule(hostile, [credit('1')])),
      rule('event.amount > 1', [credit('1')]),
    ];
    const started = performance.now();
    const evaluations = evaluateRules(rules, input({ amount: 5 }));
    // Each alone may run celEvaluationTimeMaxMs; 99 of them in a row would hold the loop for seconds.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(evaluations.slice(0, -1).every((e) => e.status === 'SKIPPED_TIMEOUT')).toBe(true);
    expect(evaluations.at(-1)?.status).toBe('MATCHED');
  });

  it(`charges join and equality for their content: ${celEvaluationCostMax} units pass, one more does not`, () => {
    // join: 1 for the list, 1 for its element, the text's length; != against "": 1 more.
    const join = rule('event.parts.join() != ""', [credit('1')]);
    // ==: 1, plus the smaller list's content: 1 for the list, 1 for the element, the text's length.
    const equal = rule('event.left == event.right', [credit('1')]);
    const at = (extra: number) => 'x'.repeat(celEvaluationCostMax - 3 + extra);
    for (const [extra, status] of [
      [0, 'MATCHED'],
      [1, 'SKIPPED_TIMEOUT'],
    ] as const) {
      const text = at(extra);
      expect(evaluateRules([join], input({ parts: [text] }))[0]?.status).toBe(status);
      expect(evaluateRules([equal], input({ left: [text], right: [text] }))[0]?.status).toBe(status);
    }
  });

  it('charges every function for the text it reads: standard functions over 60,000 characters in a loop time out', () => {
    const loop = (body: string) => `event.list.all(x, ${body})`;
    const conditions = [
      'size(event.text) > 0',
      'event.text.size() > 0',
      'event.text.contains("b") == false',
      'event.text.startsWith("b") == false',
      'event.text.endsWith("b") == false',
      'event.text.matches("b") == false',
      'event.text.lowerAscii() != ""',
      'event.text.split("a").size() > 0',
      'event.text.indexOf("b") < 0',
      'string(event.text) != ""',
      'size(bytes(event.text)) > 0',
      'event.text < event.text + "b"',
      '!(event.text in {"a": 1})',
      'get({"a": 1}, event.text, 0) == 0',
    ].map(loop);
    const data = { text: 'a'.repeat(60_000), list: Array.from({ length: 500 }, (_, n) => n) };
    for (const condition of conditions) {
      const [evaluation] = evaluateRules([rule(condition, [credit('1')])], input(data));
      expect(evaluation, condition).toMatchObject({
        status: 'SKIPPED_TIMEOUT',
        reason: 'COST_LIMIT_EXCEEDED',
      });
    }
  });

  it(`charges size() for the string's length: ${celEvaluationCostMax} units pass, one more does not`, () => {
    // size: 1 plus the text's length; > of two ints: 3.
    const size = rule('size(event.text) > 0', [credit('1')]);
    for (const [extra, status] of [
      [0, 'MATCHED'],
      [1, 'SKIPPED_TIMEOUT'],
    ] as const) {
      const text = 'x'.repeat(celEvaluationCostMax - 4 + extra);
      expect(evaluateRules([size], input({ text }))[0]?.status).toBe(status);
    }
  });

  it('refuses at compile time what is too long, too deep or calls unknown names', () => {
    const refusals: [string, RegExp][] = [
      [`[[1]]${'.map(x, x + x)'.repeat(60)}.size() > 0`, /nested more than 64 levels/],
      [`${'['.repeat(100)}1${']'.repeat(100)} == []`, /nested more than 64 levels/],
      [`event.a == ${'1 + '.repeat(1100)}1`, /bytes; the limit is 4096/],
      [`[${'1,'.repeat(2100)}1].size() > 0`, /bytes; the limit is 4096/],
      ['evnt.amount > 1', /unknown variable 'evnt'/],
      ['explode(event) == 1', /unknown function 'explode'/],
      ['event.amount = 1', /line 1, column 14: syntax error/],
      ['event.amount * 2', /must evaluate to bool, but it evaluates to a number/],
      ['"yes"', /evaluates to a string/],
      ['event.items.map(i, i.price)', /evaluates to a list/],
    ];
    for (const [condition, message] of refusals) {
      expect(() => rule(condition, [credit('1')])).toThrow(message);
    }
    const longest = `event.a == "${'x'.repeat(4096 - 'event.a == ""'.length)}"`;
    expect(Buffer.byteLength(longest)).toBe(4096);
    expect(() => rule(longest, [credit('1')])).not.toThrow();
    expect(() => rule(`${longest} `, [credit('1')])).toThrow(/4097 bytes/);
  });

  it('resolves every action type into data, with CEL targets and times from the event', () => {
    const actions: Action[] = [
      { type: 'CREDIT', asset_id: points, amount: '10', bucket: 'HELD', reference_id: 'event.order_id' },
      { type: 'CREDIT', asset_id: points, amount: '10', matures_at: '720h', expires_at: '8760h' },
      { type: 'DEBIT', asset_id: points, amount: '5', allow_negative: true, description: 'refund' },
      { type: 'HOLD', asset_id: points, amount: '3', reference_id: '"h-" + event.order_id' },
      { type: 'RELEASE', asset_id: points, reference_id: 'event.order_id' },
      { type: 'FORFEIT', asset_id: points, amount: '1', bucket: 'HELD' },
      { type: 'VOID_HOLD', asset_id: points, reference_id: 'event.order_id' },
      { type: 'TAG', tag: 'Big_Spender' },
      { type: 'UNTAG', tag: 'new', target: { type: 'PROGRAM' } },
      { type: 'COUNTER', key: 'spend', value: 'event.amount', reset_after: '720h' },
      { type: 'SET_ATTRIBUTE', key: 'last_order', value: 'o-1' },
      { type: 'SET_TIER', tier: 'loyalty', level: 'gold' },
      { type: 'SCHEDULE_EVENT', event_name: 'check_status', delay: '24h', payload: { a: 1 } },
      { type: 'BROADCAST', event_name: 'flash_sale' },
      {
        type: 'CREDIT',
        asset_id: points,
        amount: '500',
        target: { type: 'PARTICIPANT', external_id: 'event.referrer_id' },
      },
    ];
    const [evaluation] = evaluateRules(
      [rule('true', actions)],
      input({ order_id: 'o-1', amount: 49.99, referrer_id: 'alice' }),
    );
    expect(evaluation?.status).toBe('MATCHED');
    expect(evaluation?.actions).toEqual([
      expect.objectContaining({ type: 'CREDIT', bucket: 'HELD', reference_id: 'o-1' }),
      expect.objectContaining({
        type: 'CREDIT',
        bucket: 'DEFERRED',
        matures_at: new Date('2026-03-31T12:00:00Z'),
        expires_at: new Date('2027-03-01T12:00:00Z'),
      }),
      expect.objectContaining({ type: 'DEBIT', amount: '5', allow_negative: true, description: 'refund' }),
      expect.objectContaining({ type: 'HOLD', amount: '3', reference_id: 'h-o-1' }),
      expect.objectContaining({ type: 'RELEASE', amount: null, reference_id: 'o-1' }),
      expect.objectContaining({ type: 'FORFEIT', amount: '1', bucket: 'HELD' }),
      expect.objectContaining({ type: 'VOID_HOLD', reference_id: 'o-1' }),
      { type: 'TAG', tag: 'big_spender', target: { kind: 'event_participant' } },
      { type: 'UNTAG', tag: 'new', target: { kind: 'program' } },
      {
        type: 'COUNTER',
        key: 'spend',
        value: '49.99',
        reset_after: '720h',
        target: { kind: 'event_participant' },
      },
      { type: 'SET_ATTRIBUTE', key: 'last_order', value: 'o-1', target: { kind: 'event_participant' } },
      { type: 'SET_TIER', tier: 'loyalty', level: 'gold', target: { kind: 'event_participant' } },
      {
        type: 'SCHEDULE_EVENT',
        event_name: 'check_status',
        payload: { a: 1 },
        delay: '24h',
        process_at: new Date('2026-03-02T12:00:00Z'),
        target: { kind: 'event_participant' },
      },
      { type: 'BROADCAST', event_name: 'flash_sale', payload: {} },
      expect.objectContaining({ amount: '500', target: { kind: 'external_id', external_id: 'alice' } }),
    ]);
  });

  it(`accepts nesting ${celNestingDepthMax} deep and refuses one level more`, () => {
    const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    expect(() => compileExpression(nested(celNestingDepthMax), 'value')).not.toThrow();
    expect(() => compileExpression(nested(celNestingDepthMax + 1), 'value')).toThrow(/nested more than 64/);
  });

  it(`accepts an action payload of ${rulePayloadBytesMax} bytes of JSON and refuses one more`, () => {
    const payload = (bytes: number) => ({ p: 'x'.repeat(bytes - '{"p":""}'.length) });
    const schedule = (bytes: number): Action => ({
      type: 'BROADCAST',
      event_name: 'e',
      payload: payload(bytes),
    });
    expect(() => rule('true', [schedule(rulePayloadBytesMax)])).not.toThrow();
    expect(() => rule('true', [schedule(rulePayloadBytesMax + 1)])).toThrow(/actions\[0\]\.payload/);
  });

  it('tells the processor when an amount has more decimals than the asset scale', () => {
    const [evaluation] = evaluateRules(
      [rule('true', [credit('0.1 * 3'), credit('round(0.1 * 3, 2)'), credit('2.50')])],
      input({}),
    );
    const [unrounded, rounded, trailingZero] = evaluation?.actions ?? [];
    expect(unrounded && amountScaleFailure(unrounded, 2)).toBe(
      'action CREDIT failed: amount exceeds asset scale',
    );
    expect(rounded && amountScaleFailure(rounded, 2)).toBeUndefined();
    expect(trailingZero && amountScaleFailure(trailingZero, 1)).toBeUndefined();
    expect(trailingZero && amountScaleFailure(trailingZero, 0)).toBe(
      'action CREDIT failed: amount exceeds asset scale',
    );
  });

  it('keeps static decimal amounts exact and refuses bad actions at compile time', () => {
    const [evaluation] = evaluateRules([rule('true', [credit('12345678901234567.89')])], input({}));
    expect(evaluation?.actions[0]).toMatchObject({ amount: '12345678901234567.89' });
    const refused = (action: Action) => () => rule('true', [action]);
    expect(refused({ type: 'CREDIT', asset_id: points })).toThrow(/actions\[0\]\.amount: is required/);
    expect(refused({ type: 'TAG', tag: 'x', amount: '1' })).toThrow(
      /actions\[0\]\.amount: is not used by TAG/,
    );
    expect(refused({ type: 'CREDIT', asset_id: points, amount: 'event.' })).toThrow(/syntax error/);
    expect(refused({ type: 'CREDIT', asset_id: points, amount: '1', bucket: 'HELD' })).toThrow(
      /reference_id/,
    );
    expect(refused({ type: 'CREDIT', asset_id: points, amount: '1', target: { type: 'PROGRAM' } })).toThrow(
      /PROGRAM is a target only/,
    );
    expect(refused({ type: 'COUNTER', key: 'k', value: '1', reset_after: 'soon' })).toThrow(/duration/);
    expect(refused({ type: 'RELEASE', asset_id: points })).toThrow(/RELEASE needs/);
    expect(
      refused({ type: 'TAG', tag: 'x', target: { type: 'PARTICIPANT', id: points, external_id: 'e' } }),
    ).toThrow(/at most one/);
    expect(refused({ type: 'CREDIT', asset_id: points, amount: '1' })).not.toThrow();
    try {
      rule('event.amount *', [credit('1')]);
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).details).toMatchObject({ field: 'condition' });
      expect((error as DomainError).message).toMatch(/line 1, column \d+/);
    }
  });
});
