// Reports for the Ouroboros workflows: the sticky plan comment on a pull request, the apply
// result on the merged pull request, and the single drift issue. Run by actions/github-script:
//
//   const report = require('./.github/scripts/report.js');
//   await report.plan({ github, context, core });
//
// Inputs come from the step's environment (exit codes, step outcomes) and from files the
// earlier steps wrote (validate.txt, plan.md, plan.err, apply.log). Everything that decides what
// a body says is a pure function, so tests/repo/test_workflows.py can run it under node.
//
// The plan comment is made in two halves. `plan` runs in the plan job, beside the pull request's
// own code and with a read-only token: it renders the comment into a file that the job uploads.
// `postPlan` runs in plan-comment.yml (workflow_run: the default branch's definition and this
// script as the default branch has it) and posts that file as untrusted text: size-capped, its
// markers replaced by ours, and only on the pull request whose head commit the run planned.
'use strict';

const fs = require('fs');

const PLAN_MARKER = '<!-- ouroboros-plan -->';
const APPLY_MARKER = '<!-- ouroboros-apply -->';
const DRIFT_MARKER = '<!-- ouroboros-drift -->';
const FOOTER_MARKER = '<!-- ouroboros-footer -->';
const DRIFT_LABEL = 'ouroboros-drift';
// On a merged pull request, apply.yml then passes --allow-mass-delete.
const MASS_DELETE_LABEL = 'allow-mass-delete';
const DEPENDABOT = 'dependabot[bot]';
const DRIFT_TITLE = 'Ouroboros drift: live AWS differs from the default branch';
// The same issue when only `reconcile verify` found something (no drift in the plan).
const VERIFY_TITLE = 'Ouroboros: scheduled firings missed, failed or late';
// GitHub refuses a comment or an issue body longer than 65,536 characters.
const BODY_LIMIT = 65000;
const LOG_TAIL = 20000;
// The rendered plan comment the plan job uploads, and the most of it postPlan reads.
const COMMENT_FILE = 'plan-comment.md';
const COMMENT_FILE_LIMIT = 1024 * 1024;
const ANY_MARKER = /<!--\s*ouroboros-[A-Za-z0-9-]*\s*-->/g;

// The JSON plan's "mass_delete", read defensively: any value there that is not null means the
// apply needs --allow-mass-delete; an unreadable or absent plan warns of nothing.
function massDeleteIn(path) {
  try {
    const planDoc = JSON.parse(readText(path) || 'null');
    return Boolean(planDoc && typeof planDoc === 'object' && planDoc.mass_delete);
  } catch (err) {
    if (err instanceof SyntaxError) return false;
    throw err;
  }
}

function massDeleteNote() {
  return (
    `⚠️ **This plan is a mass delete: merging alone will not apply it.** It needs the label \`${MASS_DELETE_LABEL}\` ` +
    'on this pull request before merging (the apply workflow then runs `reconcile apply --allow-mass-delete`), ' +
    'or, after merging, *Actions → apply → Run workflow* with *allow_mass_delete*. Without either the apply refuses it.'
  );
}

function readText(path) {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return '';
    throw err;
  }
}

// A fenced block that survives backticks in the text (a longer fence than any run inside).
function fence(text) {
  const runs = text.match(/`+/g) || [];
  const longest = runs.reduce((n, run) => Math.max(n, run.length), 0);
  const bar = '`'.repeat(Math.max(3, longest + 1));
  return `${bar}text\n${text.replace(/\s+$/, '')}\n${bar}`;
}

function tail(text, limit = LOG_TAIL) {
  if (text.length <= limit) return text;
  return `[... ${text.length - limit} characters cut; the whole log is in the run]\n${text.slice(-limit)}`;
}

function cap(body, runUrl) {
  if (body.length <= BODY_LIMIT) return body;
  const note = `\n\n**Cut to fit GitHub's limit.** The whole text is in the [job summary](${runUrl}).`;
  return body.slice(0, BODY_LIMIT - note.length) + note;
}

function runUrlOf(context) {
  const { owner, repo } = context.repo;
  return `${context.serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`;
}

function footer(lines) {
  return `\n\n${FOOTER_MARKER}\n---\n<sub>${lines.join(' · ')}</sub>\n`;
}

// What the body says before its footer: a drift issue is only re-announced when this changes.
function content(body) {
  const at = (body || '').indexOf(FOOTER_MARKER);
  return at < 0 ? body || '' : body.slice(0, at);
}

// The Markdown renderer opens with its own '## Ouroboros plan': the comment has one title.
function withoutTitle(markdown) {
  return markdown.trim().replace(/^## Ouroboros plan[ \t]*(\r?\n)+/, '');
}

function planBody(i) {
  const parts = [PLAN_MARKER, '## Ouroboros plan', ''];
  let status;
  if (i.validateExit !== '0') {
    status = 'invalid';
    parts.push(
      '❌ **Validation failed.** Each problem is annotated on the changed lines; fix them and push again.',
      '',
      fence(i.validateText || '(no output)'),
    );
  } else if (!i.trusted && i.dependabot) {
    status = 'dependabot';
    parts.push(
      '✅ Validation passed.',
      '',
      'ℹ️ **No plan for a Dependabot pull request.** GitHub runs them like a fork\'s, with no OIDC ' +
        'token, so this workflow cannot read AWS. Updates of pinned actions and dependencies do not ' +
        'change the rules; the apply after merging plans against live AWS as usual.',
    );
  } else if (!i.trusted) {
    status = 'fork';
    parts.push(
      '✅ Validation passed.',
      '',
      'ℹ️ **No plan for a pull request from a fork.** GitHub gives such runs no OIDC token, so this ' +
        'workflow cannot read AWS. A maintainer sees the plan once the change is pushed to a branch ' +
        'of this repository.',
    );
  } else if (!i.settingsOk) {
    status = 'unconfigured';
    parts.push(
      '✅ Validation passed.',
      '',
      '❌ **No plan: the repository variables `AWS_PLAN_ROLE_ARN` and `AWS_REGION` are not set.** ' +
        'Deploy infra/bootstrap.yaml and set them (docs/tutorial/gitops.md, step 3).',
    );
  } else if (i.awsOutcome !== 'success') {
    status = 'no-credentials';
    parts.push(
      '✅ Validation passed.',
      '',
      `❌ **No plan: could not assume the plan role** \`${i.roleArn}\`. Check that the role exists, ` +
        'that its trust policy names this repository (and its owner and repository ids if ' +
        'GitHub sends the immutable subject), that the repository sends the subject form the ' +
        'stack expects (`OidcSubject`: the customised one with `job_workflow_ref` by default, ' +
        'docs/how-to/iam.md), and that `AWS_REGION` is the home region.',
    );
  } else if (i.planExit === '0' || i.planExit === '2') {
    status = i.planExit === '0' ? 'no-changes' : 'changes';
    parts.push(
      i.planExit === '0'
        ? '✅ Validation passed · **no changes**: live AWS already matches this branch.'
        : '✅ Validation passed · 📝 **merging applies these changes:**',
      '',
    );
    if (i.planExit === '2' && i.massDelete) parts.push(massDeleteNote(), '');
    parts.push(withoutTitle(i.planMd));
  } else {
    status = 'plan-failed';
    parts.push(
      '✅ Validation passed.',
      '',
      `❌ **The plan failed** (exit ${i.planExit || 'unknown'}):`,
      '',
      fence(tail(i.planErr || i.planMd || '(no output)')),
    );
  }
  const notes = [`Commit ${i.sha.slice(0, 7)}`, `[run](${i.runUrl})`];
  if (status === 'changes' || status === 'no-changes') notes.push(`JSON plan: artifact \`${i.artifact}\``);
  notes.push('updated on every push');
  return { status, body: cap(parts.join('\n') + footer(notes), i.runUrl) };
}

function applyBody(i) {
  const parts = [APPLY_MARKER, '## Ouroboros apply', ''];
  let status;
  if (i.awsOutcome !== 'success') {
    status = 'no-credentials';
    parts.push(
      `❌ **Not applied: could not assume the apply role** \`${i.roleArn || '(AWS_APPLY_ROLE_ARN is not set)'}\`. ` +
        `Check the variable, the role's trust policy (environment \`${i.environment}\`; by default only ` +
        '`.github/workflows/apply.yml` on the default branch, which needs the customised OIDC subject: ' +
        'docs/how-to/iam.md, and the stack output `ApplyRoleSubject`) and the region.',
    );
  } else if (i.applyExit === '0') {
    status = 'applied';
    parts.push(`✅ **Applied** ${i.sha.slice(0, 7)} to AWS.`);
  } else {
    status = 'failed';
    parts.push(
      `❌ **The apply failed** (exit ${i.applyExit || 'unknown'}). What was done and what was not is in ` +
        'the log below; the next apply (re-run this job, or merge again) converges.',
    );
    if (i.log.includes('--allow-mass-delete')) {
      parts.push(
        '',
        `If the mass delete is intended, add the label \`${MASS_DELETE_LABEL}\` to this pull request and re-run ` +
          'the job, or *Run workflow* on the default branch with *allow_mass_delete*.',
      );
    }
  }
  if (i.log.trim()) {
    parts.push('', '<details><summary>Apply log</summary>', '', fence(tail(i.log)), '', '</details>');
  }
  const notes = [`Commit ${i.sha.slice(0, 7)}`, `by @${i.actor}`, `[run](${i.runUrl})`];
  return { status, body: cap(parts.join('\n') + footer(notes), i.runUrl) };
}

function driftBody(i) {
  const parts = [DRIFT_MARKER];
  if (i.planMd) {
    parts.push(
      '## Live AWS differs from the default branch',
      '',
      'The nightly `reconcile plan` found changes: someone edited a schedule, the executor or the log ' +
        'table by hand, or an apply did not finish. Either run the **apply** workflow on the default ' +
        'branch (Actions → apply → Run workflow) to put AWS back to what the repository says, or ' +
        'change the rules in a pull request to keep what is live. This issue is updated every night ' +
        'while the drift lasts and closed when it is gone.',
      '',
      withoutTitle(i.planMd),
    );
  }
  if (i.verifyText) {
    parts.push(
      '## Firings missed, failed or late in the last 24 hours',
      '',
      'The nightly `reconcile verify` matched every firing the deployed schedules should have made ' +
        'with the run log, and these did not run as they should (the dead-letter queue, if it holds ' +
        'anything, is listed too). `reconcile logs --rule NAME` shows a rule\'s runs in full. This ' +
        'issue is closed when a night finds neither drift nor such firings.',
      '',
      fence(tail(i.verifyText)),
    );
  }
  const notes = [`Last seen ${i.when}`, `commit ${i.sha.slice(0, 7)}`, `[run](${i.runUrl})`];
  return cap(parts.join('\n') + footer(notes), i.runUrl);
}

async function upsertComment(github, repo, issueNumber, marker, body) {
  const comments = await github.paginate(github.rest.issues.listComments, {
    ...repo,
    issue_number: issueNumber,
    per_page: 100,
  });
  // Only our own comment: a person quoting it must not become the sticky one.
  const mine = comments.find((c) => c.user && c.user.type === 'Bot' && (c.body || '').includes(marker));
  if (mine) {
    await github.rest.issues.updateComment({ ...repo, comment_id: mine.id, body });
    return { action: 'updated', id: mine.id };
  }
  const { data } = await github.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
  return { action: 'created', id: data.id };
}

async function ensureLabel(github, repo) {
  try {
    await github.rest.issues.getLabel({ ...repo, name: DRIFT_LABEL });
  } catch (err) {
    if (err.status !== 404) throw err;
    try {
      await github.rest.issues.createLabel({
        ...repo,
        name: DRIFT_LABEL,
        color: 'd93f0b',
        description: 'Live AWS differs from the schedules in the default branch',
      });
    } catch (raced) {
      if (raced.status !== 422) throw raced; // 422: created meanwhile
    }
  }
}

async function openDriftIssue(github, repo) {
  const issues = await github.paginate(github.rest.issues.listForRepo, {
    ...repo,
    state: 'open',
    labels: DRIFT_LABEL,
    per_page: 100,
  });
  const ours = issues
    .filter((issue) => !issue.pull_request && (issue.body || '').includes(DRIFT_MARKER))
    .sort((a, b) => a.number - b.number);
  return ours[0];
}

// The rendered comment, as the plan job hands it over: the one file postPlan reads.
async function plan({ context, core }) {
  const env = process.env;
  const runUrl = runUrlOf(context);
  const pr = context.payload.pull_request;
  // GitHub treats a run as Dependabot's by its actor, and so does the workflow's TRUSTED.
  const dependabot = context.actor === DEPENDABOT;
  const { status, body } = planBody({
    trusted: env.TRUSTED === 'true',
    dependabot,
    settingsOk: env.SETTINGS_OK === 'true',
    validateExit: env.VALIDATE_EXIT || '',
    validateText: readText('validate.txt'),
    awsOutcome: env.AWS_OUTCOME || '',
    roleArn: env.PLAN_ROLE_ARN || '',
    planExit: env.PLAN_EXIT || '',
    planMd: readText('plan.md'),
    planErr: readText('plan.err'),
    massDelete: massDeleteIn('plan.json'),
    sha: pr.head.sha,
    runUrl,
    artifact: env.ARTIFACT || 'plan',
  });
  await core.summary.addRaw(body, true).write();
  fs.writeFileSync(COMMENT_FILE, body);
  if (env.TRUSTED !== 'true') {
    // plan-comment.yml comments on neither: the job summary and this notice are what they get.
    core.notice(
      dependabot
        ? 'Dependabot pull request: validated only. No plan, because GitHub gives its runs no OIDC token.'
        : 'Pull request from a fork: validated only. No plan, because forks get no OIDC token.',
    );
  }
  return { status };
}

// The comment file of a plan run: text or null when there is none; never more than the limit.
function readComment(path, limit = COMMENT_FILE_LIMIT) {
  let size;
  try {
    size = fs.statSync(path).size;
  } catch (err) {
    if (err.code === 'ENOENT') return { text: null };
    throw err;
  }
  if (size > limit) return { text: null, tooLarge: size };
  return { text: fs.readFileSync(path, 'utf8') };
}

// Untrusted text made into our sticky comment: ours is the only marker in it, and it fits.
function planCommentFrom(text, runUrl) {
  const untrusted = text.replace(ANY_MARKER, '').trim();
  return cap(`${PLAN_MARKER}\n${untrusted}\n`, runUrl);
}

function tooLargeBody(size, sha, runUrl) {
  const parts = [
    PLAN_MARKER,
    '## Ouroboros plan',
    '',
    `⚠️ **The rendered plan (${size} bytes) is too large to post.** Read it in the [run](${runUrl}): ` +
      'its job summary and the JSON plan artifact.',
  ];
  return parts.join('\n') + footer([`Commit ${sha.slice(0, 7)}`, `[run](${runUrl})`]);
}

// The open pull request whose head is still the commit the run planned. GitHub's list on the
// run comes first; a run that lists none is matched by its branch. A newer push moved the head:
// that push's run owns the comment, and this one posts nothing.
async function pullRequestOf(github, repo, run) {
  const numbers = (run.pull_requests || []).map((p) => p.number);
  for (const number of numbers) {
    const { data } = await github.rest.pulls.get({ ...repo, pull_number: number });
    if (data.state === 'open' && data.head.sha === run.head_sha) return number;
  }
  if (numbers.length) return null;
  const { data } = await github.rest.pulls.list({
    ...repo,
    state: 'open',
    head: `${repo.owner}:${run.head_branch}`,
    per_page: 100,
  });
  const found = data.find((pr) => pr.head.sha === run.head_sha);
  return found ? found.number : null;
}

// Posts, or updates, the sticky comment from the file a plan run uploaded (plan-comment.yml).
async function postPlan({ github, context, core }) {
  const run = context.payload.workflow_run;
  const runUrl = run.html_url;
  const number = await pullRequestOf(github, context.repo, run);
  if (number === null) {
    core.info(`No open pull request has ${run.head_sha.slice(0, 7)} as its head: nothing to post.`);
    return { status: 'no-pull-request' };
  }
  const { text, tooLarge } = readComment(process.env.COMMENT_FILE || COMMENT_FILE);
  let body;
  if (tooLarge !== undefined) {
    core.warning(`The rendered plan comment is ${tooLarge} bytes: posting a pointer to the run instead.`);
    body = tooLargeBody(tooLarge, run.head_sha, runUrl);
  } else if (text === null) {
    core.info('The plan run rendered no comment: nothing to post.');
    return { status: 'no-comment' };
  } else {
    body = planCommentFrom(text, runUrl);
  }
  const result = await upsertComment(github, context.repo, number, PLAN_MARKER, body);
  core.info(`plan comment ${result.action} (${result.id}) on #${number}`);
  return { status: tooLarge !== undefined ? 'too-large' : 'posted', number, ...result };
}

async function apply({ github, context, core }) {
  const env = process.env;
  const runUrl = runUrlOf(context);
  const { status, body } = applyBody({
    awsOutcome: env.AWS_OUTCOME || '',
    roleArn: env.APPLY_ROLE_ARN || '',
    environment: env.ENVIRONMENT_NAME || '',
    applyExit: env.APPLY_EXIT || '',
    log: readText('apply.log'),
    sha: context.sha,
    actor: context.actor,
    runUrl,
  });
  await core.summary.addRaw(body, true).write();
  const number = Number.parseInt(env.PR_NUMBER || '', 10);
  if (!Number.isInteger(number)) {
    core.info('No merged pull request for this commit (a direct push): no comment.');
    return { status };
  }
  const { data } = await github.rest.issues.createComment({ ...context.repo, issue_number: number, body });
  core.info(`apply result commented on #${number} (${data.id}): ${status}`);
  return { status, action: 'created', id: data.id };
}

async function drift({ github, context, core }) {
  const env = process.env;
  const repo = context.repo;
  const runUrl = runUrlOf(context);
  const planExit = env.PLAN_EXIT || '';
  // '' when the verify step did not run (a workflow without it): nothing to report from it.
  const verifyExit = env.VERIFY_EXIT || '';
  const verifyRan = verifyExit !== '';
  if (
    env.AWS_OUTCOME !== 'success' ||
    (planExit !== '0' && planExit !== '2') ||
    (verifyRan && verifyExit !== '0' && verifyExit !== '2')
  ) {
    const why =
      env.AWS_OUTCOME !== 'success'
        ? 'could not assume the plan role (check AWS_PLAN_ROLE_ARN, AWS_REGION and the trust policy for the default branch)'
        : planExit !== '0' && planExit !== '2'
          ? `the plan failed (exit ${planExit || 'unknown'})`
          : `the verify failed (exit ${verifyExit})`;
    const errors = planExit !== '0' && planExit !== '2' ? 'plan.err' : 'verify.err';
    await core.summary
      .addRaw(`## Drift check failed\n\nThe drift check did not run to the end: ${why}.\n\n`, true)
      .addRaw(fence(tail(readText(errors) || '(no output)')), true)
      .write();
    return { status: 'error' };
  }
  const existing = await openDriftIssue(github, repo);
  if (planExit === '0' && verifyExit !== '2') {
    await core.summary.addRaw('## No drift\n\nLive AWS matches the default branch.\n', true).write();
    if (!existing) return { status: 'in-sync' };
    await github.rest.issues.createComment({
      ...repo,
      issue_number: existing.number,
      body: `No drift in [the latest check](${runUrl}): live AWS matches the default branch again. Closing.`,
    });
    await github.rest.issues.update({ ...repo, issue_number: existing.number, state: 'closed', state_reason: 'completed' });
    return { status: 'in-sync', action: 'closed', number: existing.number };
  }
  const body = driftBody({
    planMd: planExit === '2' ? readText('plan.md') : '',
    verifyText: verifyExit === '2' ? readText('verify.txt') : '',
    when: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    sha: context.sha,
    runUrl,
  });
  await core.summary.addRaw(body, true).write();
  if (existing) {
    const changed = content(existing.body) !== content(body);
    await github.rest.issues.update({ ...repo, issue_number: existing.number, body });
    if (changed) {
      await github.rest.issues.createComment({
        ...repo,
        issue_number: existing.number,
        body: `The drift changed in [the latest check](${runUrl}): the issue now holds the new plan.`,
      });
    }
    return { status: 'drift', action: changed ? 'updated-changed' : 'updated', number: existing.number };
  }
  await ensureLabel(github, repo);
  const title = planExit === '2' ? DRIFT_TITLE : VERIFY_TITLE;
  const { data } = await github.rest.issues.create({ ...repo, title, body, labels: [DRIFT_LABEL] });
  return { status: 'drift', action: 'created', number: data.number };
}

module.exports = {
  plan,
  postPlan,
  planCommentFrom,
  apply,
  drift,
  planBody,
  applyBody,
  driftBody,
  fence,
  PLAN_MARKER,
  APPLY_MARKER,
  DRIFT_MARKER,
  DRIFT_LABEL,
  MASS_DELETE_LABEL,
  BODY_LIMIT,
  COMMENT_FILE,
};
