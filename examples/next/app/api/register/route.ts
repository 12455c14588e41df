import { UserRegisterInputSchema } from 'carebase/schemas';
import { carebase } from '../../../lib/carebase';
import { HttpError, handle, readBody } from '../../../lib/http';
import { anonymousScope, getSession } from '../../../lib/session';

const Body = UserRegisterInputSchema; // the create fields, role optional

/**
 * POST /api/register `{ username, email, password, displayName?, role? }`: creates an account.
 * Anyone may sign up as a nurse; only a signed-in user with `users:manage` (admins) may choose
 * another role.
 */
export function POST(request: Request): Promise<Response> {
  return handle(async () => {
    const body = await readBody(request, Body);
    const signedIn = await getSession();
    const mayChooseRole = signedIn !== null && carebase().users.can(signedIn.user, 'users:manage');
    if (body.role !== undefined && body.role !== 'nurse' && !mayChooseRole) {
      throw new HttpError(403, 'Only an admin may choose the role', ['role']);
    }
    const cb = signedIn?.cb ?? (await anonymousScope());
    const user = await cb.users.create({ ...body, role: body.role ?? 'nurse' });
    return Response.json({ user }, { status: 201 });
  });
}
