import { expect, it } from 'vitest';
import { BuildLog } from './buildlog';

it('groups lines into steps across split messages', () => {
  const b = new BuildLog();
  b.push({ stream: 'Step 1/2 : FROM busybox\n ---> 0067943dd662\nStep 2/2 : RUN ech' });
  b.push({ stream: 'o hi\n ---> Using cache\n ---> 1234\nSuccessfully built 1234\n' });
  b.push({ aux: { ID: 'sha256:1234' } });
  b.finish();
  expect(b.steps.map((s) => [s.index, s.title, s.cached, s.lines.length])).toEqual([
    [1, 'FROM busybox', false, 1],
    [2, 'RUN echo hi', true, 3],
  ]);
  expect(b.imageId).toBe('sha256:1234');
});

it('marks the failing step', () => {
  const b = new BuildLog();
  b.push({ stream: 'Step 1/1 : RUN false\n ---> Running in abc\n' });
  b.push({ errorDetail: { code: 1, message: "The command '/bin/sh -c false' returned a non-zero code: 1" }, error: 'x' });
  expect(b.steps[0].failed).toBe(true);
  expect(b.error).toMatch(/non-zero code: 1/);
});
