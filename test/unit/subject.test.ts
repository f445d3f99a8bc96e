import { test } from "node:test";
import assert from "node:assert/strict";
import { isValidSubject, isValidLiteralSubject, hasWildcard, isValidQueueName, subjectMatches } from "../../src/core/subject.js";

test("valid subjects, as nats-server accepts them", () => {
  for (const s of ["foo", "foo.bar", "foo.*", "foo.>", "*", ">", "*.*.>", "foo*bar", "foo>bar.baz", "_INBOX.abc.1", "ünïcode.sübject"]) {
    assert.equal(isValidSubject(s), true, s);
  }
});

test("invalid subjects: empty tokens, whitespace, > not last", () => {
  for (const s of ["", ".", "foo.", ".foo", "foo..bar", "foo bar", "foo\tbar", "foo.>.bar", ">.foo", "foo\r\n", "a.b\n"]) {
    assert.equal(isValidSubject(s), false, JSON.stringify(s));
  }
});

test("literal subjects have no wildcard tokens", () => {
  assert.equal(isValidLiteralSubject("foo.bar"), true);
  assert.equal(isValidLiteralSubject("foo*bar.x>"), true);
  assert.equal(isValidLiteralSubject("foo.*"), false);
  assert.equal(isValidLiteralSubject("foo.>"), false);
  assert.equal(isValidLiteralSubject("*"), false);
  assert.equal(hasWildcard("a.*.c"), true);
  assert.equal(hasWildcard("a.b*.c"), false);
});

test("queue names", () => {
  assert.equal(isValidQueueName("workers"), true);
  assert.equal(isValidQueueName(""), false);
  assert.equal(isValidQueueName("a b"), false);
});

test("subjectMatches", () => {
  assert.equal(subjectMatches("foo.*", "foo.bar"), true);
  assert.equal(subjectMatches("foo.*", "foo.bar.baz"), false);
  assert.equal(subjectMatches("foo.>", "foo.bar.baz"), true);
  assert.equal(subjectMatches("foo.>", "foo"), false);
  assert.equal(subjectMatches(">", "a"), true);
  assert.equal(subjectMatches("a.b", "a.b"), true);
  assert.equal(subjectMatches("a.b", "a.c"), false);
});
