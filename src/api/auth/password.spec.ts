import { hashPassword, hashToken, newToken, verifyPassword } from './password';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse');
    expect(h).not.toContain('correct horse');
    await expect(verifyPassword('correct horse', h)).resolves.toBe(true);
    await expect(verifyPassword('correct horsf', h)).resolves.toBe(false);
    await expect(verifyPassword('x', 'garbage')).resolves.toBe(false);
  });

  it('makes unguessable tokens and stores only their hash', () => {
    const a = newToken();
    expect(a).toMatch(/^sb_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(a);
    expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(a)).not.toContain(a);
  });
});
