export const SECONDS_PER_DAY = 86_400;

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
