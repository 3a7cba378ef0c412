// The dashboard in a real browser against a real daemon, as a user goes
// through the tutorial: log in with the token from the log, import busybox,
// run a container with a terminal, attach, resize, detach, open a shell,
// refuse to remove an image in use, build from an uploaded context, see the
// lineage; push the built image to a registry on loopback, search it there
// and pull it back, log in and out of a registry that asks for an account
// (and log in from a push it refused); a page of another origin that tries
// to open a terminal; create
// a network, serve a page from a container on a published port and open
// it through the dashboard's link, remove the network.
//
// Run as root (the daemon makes namespaces and mounts) after `npm run build`:
//   sudo npm run e2e
// Screenshots of each page go to web/e2e/artifacts/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  artifacts, buildSkiff, busyboxRootfs, cleanup, freePort, freeSubnet, launchBrowser, registryAccount, screenshot, servePage,
  startDaemon, startRegistry, tempDir, terminalLine, terminalLines, waitFor,
} from './harness.mjs';

describe('the dashboard in Chromium', { timeout: 10 * 60_000 }, () => {
  let dir, busyboxTar, d, browser, page;
  let box; // the -it container: { id, short }

  before(async () => {
    if (process.getuid() !== 0) throw new Error('the browser tests start a skiff daemon, which needs root: run them with sudo');
    for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
    dir = tempDir('skiff-e2e-');
    const [bin, tar] = await Promise.all([buildSkiff(dir), busyboxRootfs(dir)]);
    busyboxTar = tar;
    d = await startDaemon(bin, dir);
    browser = await launchBrowser(dir);
    page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  });

  after(async () => {
    await cleanup();
  });

  // The steps build on each other, as a user's session does: after a
  // failed step, the next ones fail at once instead of timing out on the
  // state it did not leave.
  let failed = '';
  const step = (name, fn) =>
    test(name, async () => {
      if (failed) throw new Error(`not run: the earlier step “${failed}” failed`);
      try {
        await fn();
      } catch (e) {
        failed = name;
        await screenshot(page, 'failed').catch(() => {});
        throw e;
      }
    });

  // The page's own headings and controls are what a user reads; these
  // helpers name them as a screen reader would.
  const heading = (name) => page.getByRole('heading', { level: 1, name });
  const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const termStatus = () => page.locator('.termbar .badge');

  step('log in with the token printed in the daemon’s log', async () => {
    await page.goto(d.url);
    await heading('Log in to skiff').waitFor();
    await screenshot(page, 'login');

    // A wrong token is refused with a message, and nothing opens.
    const token = page.locator('input[name="token"]');
    await token.fill('skiff_not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /wrong|invalid|token/i);

    await token.fill(d.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await heading(/^Containers/).waitFor();
    await page.getByText('No containers yet').waitFor();

    // The session is a cookie scripts cannot read, never sent to another site.
    const cookies = await browser.cookies(d.url);
    const sessionCookie = cookies.find((c) => c.name === 'skiff_session');
    assert.ok(sessionCookie, `no skiff_session cookie after login: ${JSON.stringify(cookies)}`);
    assert.equal(sessionCookie.httpOnly, true);
    assert.equal(sessionCookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '');
    // The token went in a POST body, never into the address bar.
    assert.ok(!page.url().includes(d.token));
    await screenshot(page, 'containers-empty');
  });

  step('import the busybox rootfs tarball through the Import dialog', async () => {
    await nav('Images').click();
    await page.getByText('No images yet').waitFor();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Import a root filesystem' });
    await dialog.locator('input[type="file"]').setInputFiles(busyboxTar);
    await dialog.getByText('busybox.tar', { exact: true }).waitFor();
    await dialog.getByLabel('Name').fill('busybox:latest');
    await screenshot(page, 'import-dialog');
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await dialog.waitFor({ state: 'hidden', timeout: 60_000 });

    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'busybox', exact: true }) });
    await row.waitFor();
    assert.match(await row.innerText(), /latest/);
    const images = await d.json('/images/json');
    assert.deepEqual(images.flatMap((i) => i.RepoTags ?? []), ['busybox:latest']);
    await screenshot(page, 'images');
  });

  step('run busybox with a terminal from the Run dialog, attach, type, resize, detach', async () => {
    await nav('Containers').click();
    await page.getByRole('button', { name: 'Run', exact: true }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Run a container' });
    await dialog.getByRole('combobox', { name: 'Image' }).fill('busybox:latest');
    await dialog.getByLabel(/^Name/).fill('box');
    await dialog.getByLabel(/^Command/).fill('/bin/sh');
    await dialog.getByText('Interactive terminal').click();
    assert.match(await dialog.locator('code').filter({ hasText: 'skiff run' }).innerText(), /skiff run -it --name box busybox:latest \/bin\/sh/);
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();

    // The dialog opens the attached terminal of the new container.
    await page.waitForURL(/#\/containers\/[0-9a-f]{64}\/terminal\?mode=attach$/);
    const id = /containers\/([0-9a-f]{64})\//.exec(page.url())[1];
    box = { id, short: id.slice(0, 12) };
    await waitFor('the terminal to connect', async () => (await termStatus().innerText()) === 'Connected');

    await page.locator('.xterm').click();
    await page.keyboard.type('echo hi');
    await page.keyboard.press('Enter');
    await terminalLine(page, /^hi$/, 'the shell’s answer “hi” on a line of its own');

    // The pty was created at the browser terminal's size, not 80x24.
    const rowsBefore = (await terminalLines(page)).length;
    await page.keyboard.type('echo size1:$(stty size)');
    await page.keyboard.press('Enter');
    const [, r1, c1] = await terminalLine(page, /^size1:(\d+) (\d+)$/);
    assert.equal(Number(r1), rowsBefore, 'the pty has the terminal’s rows');
    assert.notEqual(`${r1}x${c1}`, '24x80');
    await screenshot(page, 'terminal-attach');

    // A narrower, taller window: the terminal refits and the pty follows.
    // (The page's width is capped on wide screens, so narrower it is.)
    await page.setViewportSize({ width: 1024, height: 1000 });
    const rowsAfter = await waitFor('the terminal to grow taller with the window', async () => {
      const n = (await terminalLines(page)).length;
      return n > rowsBefore && n;
    });
    await page.keyboard.type('echo size2:$(stty size)');
    await page.keyboard.press('Enter');
    const [, r2, c2] = await terminalLine(page, /^size2:(\d+) (\d+)$/);
    assert.equal(Number(r2), rowsAfter, 'the pty has the resized terminal’s rows');
    assert.ok(Number(c2) < Number(c1), `the pty's columns shrank with the window: ${c1} → ${c2}`);
    await screenshot(page, 'terminal-resized');
    await page.setViewportSize({ width: 1280, height: 800 });

    // Ctrl-P Ctrl-Q detaches, as in the CLI; the container keeps running.
    await page.keyboard.press('Control+P');
    await page.keyboard.press('Control+Q');
    await terminalLine(page, /\[detached: the container keeps running\]/);
    await waitFor('the Detached status', async () => (await termStatus().innerText()) === 'Detached');

    await nav('Containers').click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'box', exact: true }) });
    await row.waitFor();
    await waitFor('box to be listed as Up', async () => /\bUp\b/.test(await row.innerText()));
    assert.equal((await d.json(`/containers/${id}/json`)).State.Running, true);
    await screenshot(page, 'containers', { readme: 'containers' });
  });

  step('open a shell (exec) in the running container and run a command', async () => {
    await page.getByRole('link', { name: 'box', exact: true }).click();
    await heading('box').waitFor();
    await page.getByRole('link', { name: 'Shell', exact: true }).click();
    await page.waitForURL(new RegExp(`#/containers/${box.id}/terminal$`));
    await waitFor('the shell to connect', async () => (await termStatus().innerText()) === 'Connected');

    await page.locator('.xterm').click();
    // The answer differs from the typed line: the shell computed it.
    await page.keyboard.type('echo exec-$((6*7)) in $(hostname)');
    await page.keyboard.press('Enter');
    await terminalLine(page, new RegExp(`^exec-42 in ${box.short}$`), 'the exec shell’s answer');
    await screenshot(page, 'terminal-exec', { readme: 'terminal' });

    // 50 MB of output reaches the page and the shell answers after it. The
    // page's longest stall meanwhile is printed (a figure, not a pass mark).
    await page.evaluate(() => {
      window.__worstStall = 0;
      let last = performance.now();
      window.__stallTimer = setInterval(() => {
        const now = performance.now();
        window.__worstStall = Math.max(window.__worstStall, now - last - 50);
        last = now;
      }, 50);
    });
    await page.keyboard.type('yes | head -c 52428800 | cat; echo flood-$((40+2))');
    await page.keyboard.press('Enter');
    await terminalLine(page, /^flood-42$/, 'the shell’s answer after 50 MB of output', 180_000);
    const stall = await page.evaluate(() => {
      clearInterval(window.__stallTimer);
      return window.__worstStall;
    });
    console.log(`50 MB through the terminal: the page's longest stall was ${Math.round(stall)} ms`);

    await page.keyboard.type('exit 3');
    await page.keyboard.press('Enter');
    await terminalLine(page, /\[\/bin\/sh exited with code 3\]/);
    await waitFor('the Process exited status', async () => (await termStatus().innerText()) === 'Process exited');
    const execs = await d.events({ container: [box.id], event: ['exec_create'] });
    assert.equal(execs.length, 1, `one exec session: ${JSON.stringify(execs)}`);
    assert.equal((await d.json(`/containers/${box.id}/json`)).State.Running, true, 'the shell’s exit leaves the container running');
  });

  step('removing an image a running container uses is refused, with the reason and a link to the container', async () => {
    await nav('Images').click();
    await page.getByRole('button', { name: 'More actions for busybox:latest' }).click();
    await page.getByRole('menuitem', { name: 'Remove tag…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove busybox:latest?' });
    // Before trying: the impact, as the dashboard reads it.
    await dialog.getByText('This removal needs force:').waitFor();
    await dialog.getByText('1 container uses it (needs force)').waitFor();
    await dialog.getByText(/stays, untagged: a running container uses it/).waitFor();
    await dialog.getByRole('button', { name: 'Try anyway' }).click();
    // After: the daemon's own refusal.
    const refusal = dialog.getByRole('alert');
    await refusal.waitFor();
    // Docker's words for the last tag of an image in use:
    // conflict: unable to remove repository reference "busybox:latest" (must force) - container … is using its referenced image …
    assert.match(await refusal.innerText(), new RegExp(`^Refused: conflict: unable to remove repository reference "busybox:latest" .* container ${box.short} is using its referenced image`));
    await screenshot(page, 'image-remove-refused');
    assert.deepEqual((await d.json('/images/json')).flatMap((i) => i.RepoTags ?? []), ['busybox:latest']);

    await dialog.getByRole('link', { name: 'box' }).click();
    await page.waitForURL(new RegExp(`#/containers/${box.id}$`));
    await heading('box').waitFor();
  });

  step('build from an uploaded context tarball and watch the log reach Successfully built', async () => {
    const ctx = path.join(dir, 'context');
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
      'FROM busybox:latest',
      'COPY greeting.txt /greeting.txt',
      'RUN echo "built in the browser" >> /greeting.txt && wc -l /greeting.txt',
      'CMD ["cat", "/greeting.txt"]',
      '',
    ].join('\n'));
    fs.writeFileSync(path.join(ctx, 'greeting.txt'), 'hello from the e2e context\n');
    const tarball = path.join(dir, 'context.tar.gz');
    execFileSync('tar', ['-czf', tarball, '-C', ctx, '.']);

    await nav('Builds').click();
    await page.getByText('No builds yet').waitFor();
    await page.getByRole('link', { name: 'Start a build' }).click();
    await heading('Build an image').waitFor();
    await page.getByRole('tab', { name: /Upload a \.tar/ }).click();
    await page.locator('input[type="file"]').setInputFiles(tarball);
    await page.getByText('context.tar.gz', { exact: true }).waitFor();
    await page.getByLabel(/^Tags/).fill('e2e-built:v1');
    await page.getByRole('button', { name: 'Build', exact: true }).click();

    await page.waitForURL(/#\/builds\/[0-9a-f]+$/);
    const log = page.getByRole('log', { name: 'Build log' });
    await waitFor('the build log to reach “Successfully tagged”', async () => /Successfully tagged e2e-built:v1/.test(await log.innerText()), 120_000)
      .catch(async (e) => { throw new Error(`${e.message}\nthe log shows:\n${await log.innerText()}`); });
    const text = await log.innerText();
    assert.match(text, /Step 1\/4\s+FROM busybox:latest/);
    assert.match(text, /Step 3\/4\s+RUN echo/);
    assert.match(text, /^2 \/greeting\.txt$/m, 'the RUN step’s output');
    const [, built] = /Successfully built ([0-9a-f]{12})/.exec(text);
    await waitFor('the succeeded badge', () => page.locator('.head .badge', { hasText: 'succeeded' }).isVisible());
    await page.getByRole('link', { name: `Image ${built}` }).waitFor();
    await screenshot(page, 'build-log', { readme: 'build-log' });

    const img = await d.json('/images/e2e-built:v1/json');
    assert.ok(img.Id.startsWith(`sha256:${built}`));
  });

  step('the lineage tree shows the built image under busybox', async () => {
    await nav('Images').click();
    await page.getByRole('button', { name: 'Lineage' }).click();
    const tree = page.getByRole('img', { name: /Image lineage/ });
    await tree.waitFor();
    const node = (tag) => tree.locator(`a.node[aria-label^="${tag} "]`);
    await node('busybox:latest').waitFor();
    await node('e2e-built:v1').waitFor();
    // Parents on the left, children to the right: the build's steps sit
    // between busybox (a root) and the tagged result.
    const bx = await node('busybox:latest').locator('rect').getAttribute('x');
    const ex = await node('e2e-built:v1').locator('rect').getAttribute('x');
    assert.equal(Number(bx), 0, 'busybox is a root');
    assert.ok(Number(ex) > Number(bx), `e2e-built:v1 (x=${ex}) is to the right of busybox (x=${bx})`);
    await screenshot(page, 'lineage', { readme: 'lineage' });

    // The image's own lineage: its chain of parents, highlighted, reaches busybox.
    await node('e2e-built:v1').click();
    await heading('e2e-built:v1').waitFor();
    await page.getByRole('tab', { name: 'Lineage' }).click();
    const own = page.getByRole('img', { name: /Image lineage/ });
    await own.locator('a.node.hl[aria-label^="e2e-built:v1 "]').waitFor();
    await own.locator('a.node.line[aria-label^="busybox:latest "]').waitFor();
    await screenshot(page, 'image-lineage');
  });

  // The registries of the next steps: Debian's docker-registry on loopback,
  // one open to all and one asking for registryAccount.
  const reg = { open: '', auth: '', pushed: '' };
  // The layers of a pull or push dialog, as "id status" lines.
  const layerLines = (dialog) => dialog.getByRole('list', { name: 'Layers' }).getByRole('listitem').allInnerTexts();

  step('push the built image from its page to a registry, each layer Pushed', async () => {
    [reg.open, reg.auth] = await Promise.all([startRegistry(dir), startRegistry(dir, { auth: true })]);
    // latest: what a pull of a search result (a repository) fetches.
    reg.pushed = `${reg.open}/e2e/built:latest`;
    await page.goto(`${d.url}#/images/${encodeURIComponent('e2e-built:v1')}`);
    await heading('e2e-built:v1').waitFor();
    await page.getByRole('button', { name: 'Push', exact: true }).click();
    const form = page.getByRole('dialog', { name: 'Push e2e-built:v1' });
    await form.getByLabel(/^Push as/).fill(reg.pushed);
    // The name is new: the dialog tags the image with it first, as the CLI would.
    await form.getByText(`is tagged ${reg.pushed} first`).waitFor();
    assert.equal(await form.locator('code').innerText(), `skiff tag e2e-built:v1 ${reg.pushed} && skiff push ${reg.pushed}`);
    await form.getByRole('button', { name: 'Push', exact: true }).click();

    const dialog = page.getByRole('dialog', { name: `Push ${reg.pushed}` });
    await dialog.getByRole('status').filter({ hasText: 'Pushed' }).waitFor({ timeout: 60_000 })
      .catch(async (e) => { throw new Error(`${e.message}\nthe dialog shows:\n${await dialog.innerText()}`); });
    const layers = await layerLines(dialog);
    assert.equal(layers.length, 3, `busybox's layer and the build's two: ${layers.join(' | ')}`);
    for (const l of layers) assert.match(l, /^[0-9a-f]{12}\s+(Pushed|Layer already exists|Mounted from .*)\b/, l);
    assert.ok(layers.some((l) => /\bPushed\b/.test(l)), `no layer pushed: ${layers.join(' | ')}`);
    assert.match(await dialog.getByRole('log', { name: 'Push output' }).innerText(), /^latest: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    assert.equal(await dialog.getByRole('progressbar', { name: 'Overall push progress' }).getAttribute('aria-valuenow'), '100');
    await screenshot(page, 'push-done');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // The registry has the tag; the image has its new name.
    const tags = await (await fetch(`http://${reg.open}/v2/e2e/built/tags/list`)).json();
    assert.deepEqual(tags.tags, ['latest']);
    await page.locator('.head .badge', { hasText: reg.pushed }).waitFor();
  });

  step('search the registry from the Pull dialog and pull the image back, each layer complete', async () => {
    // Without the image here, the pull fetches the layers busybox lacks.
    await d.api(`/images/${encodeURIComponent(reg.pushed)}`, { method: 'DELETE' });
    await d.api('/images/e2e-built:v1', { method: 'DELETE' });
    await nav('Images').click();
    await heading(/^Images/).waitFor();
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const chooser = page.getByRole('dialog', { name: 'Pull an image' });
    await chooser.getByRole('searchbox', { name: 'Search registries' }).fill(`${reg.open}/e2e`);
    const result = chooser.getByRole('row').filter({ hasText: 'e2e/built' });
    await result.waitFor();
    assert.deepEqual(await chooser.locator('thead th').allInnerTexts(), ['Name', 'Description', 'Stars', 'Official', 'Pull']);
    await screenshot(page, 'pull-search');
    await result.getByRole('button', { name: /^Pull / }).click();

    const ref = `${reg.open}/e2e/built`;
    const dialog = page.getByRole('dialog', { name: `Pull ${ref}` });
    await dialog.getByRole('status').filter({ hasText: 'Pull complete:' }).waitFor({ timeout: 60_000 })
      .catch(async (e) => { throw new Error(`${e.message}\nthe dialog shows:\n${await dialog.innerText()}`); });
    const layers = await layerLines(dialog);
    assert.equal(layers.length, 3, layers.join(' | '));
    assert.ok(layers.some((l) => /\bPull complete\b/.test(l)), `no layer fetched: ${layers.join(' | ')}`);
    assert.match(await dialog.getByRole('log', { name: 'Pull output' }).innerText(), new RegExp(`^Status: Downloaded newer image for ${ref.replace(/\./g, '\\.')}:latest$`, 'm'));
    await screenshot(page, 'pull-done', { readme: 'pull' });
    await dialog.getByRole('button', { name: 'Done' }).click();
    // The list follows the daemon's events: the pulled image appears.
    await page.getByRole('row').filter({ has: page.getByRole('link', { name: ref, exact: true }) }).waitFor();

    // An image the registry does not have: the registry's answer, plainly.
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    await chooser.getByLabel(/^Pull by name/).fill(`${reg.open}/e2e/nope:v1`);
    await chooser.getByRole('button', { name: 'Pull', exact: true }).click();
    const failed = page.getByRole('dialog', { name: `Pull ${reg.open}/e2e/nope:v1` });
    assert.match(await failed.getByRole('alert').innerText(), /^Pull failed\. .*(not found|manifest unknown)/i);
    await failed.getByRole('button', { name: 'Done' }).click();
  });

  step('log in to a registry on the Registries page, see it listed, log out', async () => {
    await nav('Registries').click();
    await heading('Registries').waitFor();
    await page.getByText('No account stored').waitFor();
    const form = page.getByRole('form', { name: 'Log in to a registry' });
    await form.getByLabel(/^Server/).fill(reg.auth);
    await form.getByLabel('Username').fill(registryAccount.username);
    await form.getByLabel(/^Password/).fill('not-the-password');
    await form.getByRole('button', { name: 'Log in' }).click();
    assert.match(await form.getByRole('alert').innerText(), /^Login failed\. .*(unauthorized|denied|incorrect|invalid)/i);
    assert.equal(await form.getByLabel(/^Password/).inputValue(), '', 'the form forgets the password');

    await form.getByLabel(/^Password/).fill(registryAccount.password);
    await form.getByRole('button', { name: 'Log in' }).click();
    await form.getByRole('status').filter({ hasText: `Login Succeeded: ${registryAccount.username} on ${reg.auth}` }).waitFor();
    const listed = page.getByRole('list', { name: 'Registries logged in' });
    await listed.getByText(reg.auth, { exact: true }).waitFor();
    assert.deepEqual((await d.json('/skiff/auth')).Servers, [reg.auth]);
    // Nothing secret on the page, in the address bar or in what the daemon lists.
    assert.ok(!(await page.content()).includes(registryAccount.password));
    assert.ok(!page.url().includes(registryAccount.password));
    assert.ok(!JSON.stringify(await d.json('/skiff/auth')).includes(registryAccount.password));
    await screenshot(page, 'registries', { readme: 'registries' });

    await listed.getByRole('button', { name: `Log out of ${reg.auth}` }).click();
    await page.getByText('No account stored').waitFor();
    assert.deepEqual((await d.json('/skiff/auth')).Servers ?? [], []);
  });

  step('a push the registry refuses for want of an account offers the login, then pushes', async () => {
    await page.goto(`${d.url}#/images/${encodeURIComponent('busybox:latest')}`);
    await heading('busybox:latest').waitFor();
    await page.getByRole('button', { name: 'Push', exact: true }).click();
    const target = `${reg.auth}/e2e/busybox:v1`;
    await page.getByRole('dialog', { name: 'Push busybox:latest' }).getByLabel(/^Push as/).fill(target);
    await page.getByRole('dialog', { name: 'Push busybox:latest' }).getByRole('button', { name: 'Push', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Push ${target}` });
    assert.match(await dialog.getByRole('alert').first().innerText(), /^Push failed\. .*(unauthorized|authentication required|denied)/i);
    const login = dialog.getByRole('region', { name: `Log in to ${reg.auth}` });
    await login.getByLabel('Username').fill(registryAccount.username);
    await login.getByLabel(/^Password/).fill(registryAccount.password);
    await screenshot(page, 'push-login');
    await login.getByRole('button', { name: 'Log in' }).click();
    // Logged in, the push starts again by itself.
    await dialog.getByRole('status').filter({ hasText: 'Pushed' }).waitFor({ timeout: 60_000 });
    assert.match((await layerLines(dialog)).join('\n'), /\bPushed\b/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    assert.deepEqual((await d.json('/skiff/auth')).Servers, [reg.auth]);
  });

  step('a page of another origin cannot open a terminal websocket, even with the session cookie', async () => {
    // The page a malicious site would serve: it tries the daemon's terminal
    // websockets for the running container, with the browser's cookies.
    const html = `<!doctype html><title>elsewhere</title><script>
      window.results = [];
      for (const p of ['attach/ws?rows=24&cols=80', 'exec/ws?cmd=/bin/sh&rows=24&cols=80']) {
        const r = { path: p, opened: false, error: false, closed: false };
        window.results.push(r);
        const ws = new WebSocket('ws://${d.tcp}/skiff/containers/${box.id}/' + p);
        ws.onopen = () => { r.opened = true; ws.send('echo pwned\\r'); };
        ws.onerror = () => { r.error = true; };
        ws.onclose = (e) => { r.closed = true; r.code = e.code; };
      }
    </script>`;
    const since = (Date.now() / 1000 - 1).toFixed(3);
    // Same host, another port: same site, so the SameSite=Strict cookie is
    // sent, and only the Origin check stands in the way. Then another site.
    for (const host of ['127.0.0.1', '127.0.0.2']) {
      const url = await servePage(host, html);
      const evil = await browser.newPage();
      await evil.goto(url);
      const results = await waitFor(`both websockets from ${url} to open or close`, () =>
        evil.evaluate(() => window.results.every((r) => r.opened || r.closed) && window.results));
      for (const r of results) {
        assert.equal(r.opened, false, `${r.path} opened from ${url}`);
        assert.equal(r.error, true, `${r.path} from ${url} did not fail`);
        assert.equal(r.code, 1006, `${r.path} from ${url}: the handshake was refused`);
      }
      await evil.close();
      // The daemon's log tells why: from the same site the cookie came
      // along and the origin was refused; from another site no cookie came.
      const origin = url.replace(/\/$/, '');
      for (const p of ['attach/ws', 'exec/ws']) {
        const path = `path=/skiff/containers/${box.id}/${p}`;
        const re = host === '127.0.0.1'
          ? new RegExp(`msg="refused cross-site request" .*${path} origin=${origin} `)
          : new RegExp(`msg="refused unauthenticated request" .*${path}$`);
        await waitFor(`the daemon to log the refusal of ${p} from ${origin}`, () => d.log.some((l) => re.test(l)), 10_000);
      }
    }
    // The daemon made no exec session and no attach for them.
    const made = await d.events({ container: [box.id], event: ['exec_create', 'attach'] }, since);
    assert.deepEqual(made, [], `terminal sessions created by the foreign pages: ${JSON.stringify(made)}`);
    // The same socket from the dashboard's own page opens: the refusal was the origin's.
    const own = await page.evaluate((u) => new Promise((resolve) => {
      const ws = new WebSocket(u);
      ws.onopen = () => { ws.close(); resolve('opened'); };
      ws.onclose = () => resolve('closed');
    }), `ws://${d.tcp}/skiff/containers/${box.id}/exec/ws?cmd=/bin/true&rows=24&cols=80`);
    assert.equal(own, 'opened');
  });

  step('the events page lists what happened', async () => {
    await nav('Events').click();
    await heading(/^Events/).waitFor();
    await page.getByText('exec_create', { exact: false }).first().waitFor();
    await screenshot(page, 'events');
  });
  // The network the next steps make, with a subnet no route of this host has.
  const net = { name: 'e2e-net', subnet: '' };
  // A row of the Networks page by the network's name, and its cells.
  const netRow = (name) => page.locator('tbody tr', { has: page.locator('td:first-child .strong', { hasText: new RegExp(`^${name}$`) }) });
  const netCells = async (name) => {
    const r = netRow(name);
    return {
      subnet: await r.locator('td').nth(2).innerText(),
      gateway: await r.locator('td').nth(3).innerText(),
      count: await r.locator('td.ctrs .num').innerText(),
      containers: await r.locator('td.ctrs a').allInnerTexts(),
    };
  };

  step('create a network on the Networks page and see it listed', async () => {
    net.subnet = await freeSubnet();
    await nav('Networks').click();
    await heading(/^Networks/).waitFor();
    // The predefined networks, the default bridge with the daemon's own subnet.
    await netRow('bridge').waitFor();
    assert.equal((await netCells('bridge')).subnet, d.subnet);
    await netRow('host').waitFor();
    await netRow('none').waitFor();
    await page.getByText('No networks of your own yet').waitFor();
    await screenshot(page, 'networks-empty');

    await page.getByRole('button', { name: 'Create network' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a network' });
    await dialog.getByLabel('Name').fill(net.name);
    await dialog.getByLabel(/^Subnet/).fill(net.subnet);
    assert.equal(await dialog.locator('code').innerText(), `skiff network create --subnet ${net.subnet} ${net.name}`);
    await screenshot(page, 'network-create');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });

    await netRow(net.name).waitFor();
    assert.deepEqual(await netCells(net.name), { subnet: net.subnet, gateway: net.subnet.replace(/0\/24$/, '1'), count: '0', containers: [] });
    await page.getByText('No networks of your own yet').waitFor({ state: 'detached' });
    const [n] = await d.json(`/networks?filters=${encodeURIComponent(JSON.stringify({ name: [net.name] }))}`);
    assert.equal(n.IPAM.Config[0].Subnet, net.subnet);
    net.id = n.Id;
    await screenshot(page, 'networks', { readme: 'networks' });
  });

  step('serve a page from busybox httpd on a published port from the Run dialog, and open it through its link', async () => {
    const port = await freePort();
    const spec = `127.0.0.1:${port}:80`;
    await nav('Containers').click();
    await page.getByRole('button', { name: 'Run', exact: true }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Run a container' });
    await dialog.getByRole('combobox', { name: 'Image' }).fill('busybox:latest');
    await dialog.getByLabel(/^Name/).fill('web');
    const serve = 'mkdir /www && echo hello-from-skiff > /www/index.html && httpd -f -p 80 -h /www';
    await dialog.getByLabel(/^Command/).fill(`sh -c '${serve}'`);
    await dialog.getByRole('button', { name: /^Show ports, network/ }).click();
    await dialog.getByRole('button', { name: 'Publish a port' }).click();
    await dialog.getByLabel('Ports 1', { exact: true }).fill(spec);
    const cli = dialog.locator('code').filter({ hasText: 'skiff run' });

    // The network select: the predefined ones and the network just made.
    const select = dialog.getByRole('combobox', { name: 'Network' });
    assert.equal(await select.inputValue(), 'bridge');
    await waitFor('the new network in the select', async () =>
      (await select.locator('option').allInnerTexts()).join('|') === `bridge (default)|host|none|${net.name}`);
    await select.selectOption(net.name);
    assert.equal(await cli.innerText(), `skiff run -d --name web -p ${spec} --network ${net.name} busybox:latest sh -c '${serve}'`);
    await select.selectOption('host');
    await dialog.getByText('Not published with --network host.').waitFor();
    await dialog.getByLabel(/Publish all exposed ports/).check();
    assert.match(await cli.innerText(), new RegExp(`-p ${spec} -P --network host busybox`));
    await dialog.getByLabel(/Publish all exposed ports/).uncheck();
    await select.selectOption('bridge');
    assert.equal(await cli.innerText(), `skiff run -d --name web -p ${spec} busybox:latest sh -c '${serve}'`);
    await screenshot(page, 'run-dialog-ports');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();

    // The dialog opens the detached container's logs; its details show its
    // network, its address on the default bridge and the port's link.
    await page.waitForURL(/#\/containers\/[0-9a-f]{64}\/logs$/);
    const id = /containers\/([0-9a-f]{64})\//.exec(page.url())[1];
    await heading('web').waitFor();
    const href = `http://127.0.0.1:${port}/`;
    const detailLink = page.locator('.meta').getByRole('link', { name: `${port}→80` });
    await detailLink.waitFor();
    assert.equal(await detailLink.getAttribute('href'), href);
    const inspect = await d.json(`/containers/${id}/json`);
    const ip = inspect.NetworkSettings.Networks.bridge.IPAddress;
    const prefix = d.subnet.replace(/\.0\/24$/, '.');
    assert.ok(ip.startsWith(prefix), `the address ${ip} is in the daemon's subnet ${d.subnet}`);
    const meta = await page.locator('.meta').innerText();
    assert.match(meta, new RegExp(`Network\\s+bridge\\s+${ip.replace(/\./g, '\\.')}/24`));

    // The page, fetched by the test through the published port, once httpd listens.
    const body = await waitFor(`${href} to answer`, async () => {
      const r = await fetch(href, { signal: AbortSignal.timeout(2_000) });
      return r.ok && (await r.text());
    });
    assert.equal(body, 'hello-from-skiff\n');

    // The same from the dashboard's link, opened in a new tab as a user would.
    const [tab] = await Promise.all([browser.waitForEvent('page'), detailLink.click()]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), href);
    assert.equal((await tab.locator('body').innerText()).trim(), 'hello-from-skiff');
    await screenshot(tab, 'published-page');
    await tab.close();
    await screenshot(page, 'container-ports');

    // ps as the docker CLI reads it, and the list's link to the same address.
    const [ps] = await d.json(`/containers/json?filters=${encodeURIComponent(JSON.stringify({ id: [id] }))}`);
    assert.deepEqual(ps.Ports.filter((p) => p.PublicPort).map((p) => [p.IP, p.PublicPort, p.PrivatePort, p.Type]), [['127.0.0.1', port, 80, 'tcp']]);
    await nav('Containers').click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'web', exact: true }) });
    await row.waitFor();
    const listLink = row.getByRole('link', { name: `${port}→80` });
    await listLink.waitFor();
    assert.equal(await listLink.getAttribute('href'), href);
    await screenshot(page, 'containers-ports', { readme: 'containers-ports' });
  });

  step('the Networks page counts the containers on the bridge; remove the new network', async () => {
    await nav('Networks').click();
    // box and web run on the default bridge.
    await waitFor('box and web on the bridge', async () => {
      const c = await netCells('bridge');
      return c.count === '2' && c.containers.join(',') === 'box,web';
    });
    await netRow(net.name).getByRole('button', { name: `Remove network ${net.name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Remove network ${net.name}?` });
    await dialog.getByText('No container is on it.').waitFor();
    assert.equal(await dialog.locator('code').innerText(), `skiff network rm ${net.name}`);
    await screenshot(page, 'network-remove');
    await dialog.getByRole('button', { name: 'Remove', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    await netRow(net.name).waitFor({ state: 'detached' });
    await page.getByText('No networks of your own yet').waitFor();
    const left = await d.json('/networks');
    assert.deepEqual(left.map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
    assert.equal(fs.existsSync(`/sys/class/net/br-${net.id.slice(0, 12)}`), false, 'the network’s bridge is gone');
  });
});
