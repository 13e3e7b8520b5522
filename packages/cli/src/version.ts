declare const __PACKAGE_VERSION__: string | undefined;

export const cliVersion: string =
  typeof __PACKAGE_VERSION__ === 'string' ? __PACKAGE_VERSION__ : '0.0.0-source';
