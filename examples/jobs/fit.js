/** A stand-in for a scientist's fit, as a Node function (`./examples/jobs/fit.js#fit`). */
export function fit({ event }) {
  console.log(`fitting event ${event}`);
  return { event, chi2: 1.02 };
}
