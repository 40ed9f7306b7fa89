import { describe, expect, it } from 'vitest';
import { compileAudience } from './audience.js';

const none = { tags: false, attributes: false, counters: false };
const all = { tags: true, attributes: true, counters: true };

describe('what a fan-out loads of each participant', () => {
  it('loads only the state fields the filter and guard name', () => {
    expect(compileAudience(null, null).reads).toEqual(none);
    expect(compileAudience('participant.status == "ACTIVE"', 'participant.id != ""').reads).toEqual(none);
    expect(compileAudience('"vip" in participant.tags', 'participant.counters.visits >= 1.0').reads).toEqual({
      tags: true,
      attributes: false,
      counters: true,
    });
    expect(compileAudience(null, 'has(participant . attributes.birthday)').reads).toEqual({
      ...none,
      attributes: true,
    });
  });

  it('loads everything when the participant is read any other way', () => {
    expect(compileAudience('size(participant) > 0', null).reads).toEqual(all);
    expect(compileAudience('participant["tags"].size() > 0', null).reads).toEqual(all);
    expect(compileAudience('event.note == "participant"', null).reads).toEqual(all);
  });
});
