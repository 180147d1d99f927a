// Every route the app backend serves: the source of /openapi.json and of the 404/405 fallback.
import type { AnyRoute } from '../layers/http/route';
import { register } from './auth/register';
import { token } from './auth/token';
import { healthCheck } from './health/check';
import { deleteUser } from './users/delete';
import { getUser } from './users/get';
import { listUsers } from './users/list';
import { weatherProxy } from './weather-proxy/get';

export const backendRoutes = [register, token, healthCheck, listUsers, getUser, deleteUser, weatherProxy] as readonly AnyRoute[];
