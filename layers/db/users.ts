// The users store: all SQL about users lives here, always with bind parameters (withParameters, or prepared).
import { isRegistrableUsername } from '../credentials';
import { withParameters, type Database } from './pool';

export interface PublicUser {
  id: string;
  username: string;
  created_at: Date;
}
export interface StoredUser extends PublicUser {
  password_hash: string;
}

/** The store's own refusal of a duplicate name; the backend answers it 409. */
export class UsernameTaken extends Error {
  constructor(readonly username: string) {
    super(`username "${username}" is already taken`);
    this.name = 'UsernameTaken';
  }
}

const PUBLIC = 'id, username, created_at';
const UNIQUE_VIOLATION = '23505';

export type UsersStore = ReturnType<typeof usersStore>;

/** The users of the app database `db` (looked up per call: the pool is made on first use). */
export function usersStore(db: () => Database) {
  return {
    async create(username: string, passwordHash: string): Promise<PublicUser> {
      try {
        // The hash is a bind parameter: a failed or cancelled INSERT is logged by Postgres without it.
        return await db().one<PublicUser>(
          withParameters(`INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING ${PUBLIC}`, [username, passwordHash]),
        );
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new UsernameTaken(username);
        throw err;
      }
    },

    /** Case-insensitive lookup, with the password hash, for logging in. */
    findByName(username: string): Promise<StoredUser | null> {
      // A name that could never be registered is not looked up (a NUL byte would even break the protocol: 08P01).
      if (!isRegistrableUsername(username)) return Promise.resolve(null);
      return db().oneOrNone<StoredUser>(withParameters(`SELECT ${PUBLIC}, password_hash FROM users WHERE lower(username) = lower($1)`, [username]));
    },

    // A named (prepared) statement: every authenticated request runs it, so it is parsed and planned once per connection.
    findById(id: string): Promise<PublicUser | null> {
      return db().oneOrNone<PublicUser>({ name: 'users.find-by-id', text: `SELECT ${PUBLIC} FROM users WHERE id = $1`, values: [id] });
    },

    list(limit: number, offset: number): Promise<PublicUser[]> {
      return db().any<PublicUser>(withParameters(`SELECT ${PUBLIC} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2`, [limit, offset]));
    },

    /** Deletes a user; false when there was none. */
    async remove(id: string): Promise<boolean> {
      const result = await db().result(withParameters('DELETE FROM users WHERE id = $1', [id]));
      return result.rowCount === 1;
    },
  };
}
