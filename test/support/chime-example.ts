/**
 * CHIME's example pipeline (workflow.examples.function.math over a 3 x 3 matrix), as its users
 * write it: the service's tests start it, the end-to-end ones run it with a fan-in step after.
 */
export const CHIME_EXAMPLE = `
version: "2"
name: example-pipeline
defaults: {user: developer, site: local}
pipeline:
  steps:
    - name: math
      stage: 1
      matrix: {alpha: [1, 2, 3], beta: [1, 2, 3]}
      work:
        function: workflow.examples.function.math
        parameters: {a: "\${{ matrix.alpha }}", b: "\${{ matrix.beta }}"}
`;
