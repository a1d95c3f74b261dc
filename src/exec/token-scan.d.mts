export declare const TOKEN_VAR: 'SUBLAB_RUN_TOKEN';
export declare function tokenHolders(token: string): number[];
export declare function killTokenHolders(token: string, passes?: number): number;
