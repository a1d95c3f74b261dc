// The students' frozen parameter group (student_freeze): which of the model's groups (model.ts'
// ParamGroup) get no gradient and no Adam update in every student's fine-tune. The engine builds
// no gradient for a frozen group (graphs.ts), so a frozen student is trained exactly as the
// others, the frozen tensors staying the base's bit for bit.
import type { ParamGroup } from './model.ts';

export type StudentFreeze = 'none' | 'mlp' | 'attention' | 'embeddings';

/** The groups frozen in the students' fine-tune: none, or the one named (LayerNorms always train). */
export const studentFrozen = (f: StudentFreeze): ParamGroup[] => (f === 'none' ? [] : [f]);
