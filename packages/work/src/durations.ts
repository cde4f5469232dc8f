export const SECONDS_PER_DAY = 86_400;

/**
 * Seconds in each unit a duration may be written in (`90s`, `30m`, `2h`, `1d`, `2w`, `1y`): each
 * parser's pattern says which of them it takes.
 */
export const UNIT_SECONDS = {
  s: 1,
  m: 60,
  h: 3600,
  d: SECONDS_PER_DAY,
  w: 7 * SECONDS_PER_DAY,
  y: 365 * SECONDS_PER_DAY,
} as const;
export type DurationUnit = keyof typeof UNIT_SECONDS;

/**
 * Seconds as a person reads them: 4.2 s, 3 min 5 s, 23 h 53 min, 29 d 23 h. Two units at most:
 * a lifetime or a wait is judged by its first figure, and 85994 s says nothing at a glance.
 */
export function spokenDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  const whole = Math.floor(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  if (whole < SECONDS_PER_DAY)
    return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  return `${Math.floor(whole / SECONDS_PER_DAY)} d ${Math.floor((whole % SECONDS_PER_DAY) / 3600)} h`;
}
